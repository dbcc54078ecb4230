"""Outbound messages: the record that makes every send at-most-once.

One item per message (`{pnid}#OUT#{message_id}`). The sender *claims* it with a
conditional write before calling Meta, so a redelivered SQS message finds it claimed
or finished and sends nothing. States only move forward by rank; status webhooks
arriving out of order never move a message backwards (`read` never returns to
`delivered`). A lookup item (`{pnid}#WAMID#{wamid}`) ties Meta's id back to ours.
Both expire after MESSAGE_RETENTION_DAYS (wacloud.infra.retention); an idempotency key is
honoured that long.

This module is the one writer of message state (docs/outbound.md, "States"): the first
record (`outbound_fields`, `record_new`, `schedule`), the release from the due index
(`lease`, `finish_release`, `park`), the claim and its outcomes, cancellation and status
webhooks. Every state change is conditional on the current rank (`RANK`, the one table)
and appended to `history`; the only step down, `sending -> deferred/retrying`, is the
claim holder's.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import iso, now
from wacloud.infra.dynamo import (
    batch_put,
    get,
    is_conditional_failure,
    marshal,
    put_if_absent,
    table,
    unmarshal,
)
from wacloud.infra.retention import message_expiry
from wacloud.store.due import due_partition, due_sk, schedule_fields

if TYPE_CHECKING:
    from wacloud.models.outbound.submission import Submission


class State(enum.StrEnum):
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    DEFERRED = "deferred"
    RETRYING = "retrying"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # a scheduled message withdrawn (workflow cancel) before sending


# Order of meaning. A state is only ever replaced by one of higher rank. `failed` sits
# above `sent` (Meta fails a message after accepting it) but below `delivered`, so a
# late `failed` can never undo a delivery.
RANK: dict[str, int] = {
    State.ACCEPTED: 1,
    State.SCHEDULED: 2,
    State.QUEUED: 3,
    State.DEFERRED: 4,
    State.RETRYING: 5,
    State.SENDING: 6,
    State.SENT: 10,
    State.FAILED: 15,
    State.DELIVERED: 20,
    State.READ: 30,
    State.PLAYED: 35,
    State.REJECTED: 100,
    State.CANCELLED: 100,
}
CLAIMABLE = (State.ACCEPTED, State.SCHEDULED, State.QUEUED, State.DEFERRED, State.RETRYING)
FINISHED = (
    State.SENT,
    State.FAILED,
    State.DELIVERED,
    State.READ,
    State.PLAYED,
    State.REJECTED,
    State.CANCELLED,
)
CALLBACK_PREFIX = "wc1."
RETRY_AT_SLACK = 1.0
# `history` keeps the first HISTORY_HEAD and the last HISTORY_TAIL entries; the middle
# is dropped (and counted in `history_dropped`) once it holds more than HISTORY_TRIM_AT.
# A message deferred for days by rate limits would otherwise grow it without bound and
# eventually fail every write (DynamoDB's 400 KB item limit). Trimming in batches keeps
# the extra update rare: one per HISTORY_TRIM_AT - HISTORY_HEAD - HISTORY_TAIL steps.
HISTORY_HEAD = 5
HISTORY_TAIL = 20
HISTORY_TRIM_AT = 35
# A submission whose send_at is nearer than this is sent at once, not scheduled.
SCHEDULE_AHEAD_SECONDS = 60
# What the release from the due index may lease: scheduled messages, and deferred or
# retrying ones parked beyond SQS's maximum delay (`park`).
RELEASABLE = (State.SCHEDULED, State.DEFERRED, State.RETRYING)
# The attributes a release holds while it enqueues (`lease`) and the index keys.
_RELEASE_KEYS = ("due_pk", "due_sk", "release_until", "release_token")


def message_id_for(phone_number_id: str, idempotency_key: str) -> str:
    """Our message id: one record per (number, idempotency key), so a key sends once."""
    return "m" + hashlib.sha256(f"{phone_number_id}|{idempotency_key}".encode()).hexdigest()[:32]


def message_pk(phone_number_id: str, message_id: str) -> str:
    return f"{phone_number_id}#OUT#{message_id}"


def wamid_pk(phone_number_id: str, wamid: str) -> str:
    return f"{phone_number_id}#WAMID#{wamid}"


def tracking_callback(message_id: str, user_data: str | None) -> str:
    """Our id travels in biz_opaque_callback_data so any status webhook names the message,
    even when a crash lost the send's response (see `reconcile`)."""
    return f"{CALLBACK_PREFIX}{message_id}" + (f"|{user_data}" if user_data else "")


def parse_tracking_callback(value: str | None) -> tuple[str | None, str | None]:
    """(our message id, the caller's own callback data) from a status webhook's value."""
    if not value or not value.startswith(CALLBACK_PREFIX):
        return None, value
    ours, _, theirs = value[len(CALLBACK_PREFIX) :].partition("|")
    return ours or None, theirs or None


class ClaimOutcome(enum.Enum):
    CLAIMED = "claimed"  # ours to send now
    FINISHED = "finished"  # already sent/failed/rejected: send nothing
    IN_FLIGHT = "in_flight"  # another attempt holds it and may still succeed
    NOT_DUE = "not_due"  # deferred or retrying, and its retry time has not come yet


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: ClaimOutcome
    token: str | None
    item: dict[str, Any]


def _history(state: str, at: float, detail: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"state": state, "at": iso(at), **({"detail": detail} if detail else {})}]


def is_item_too_large(exc: Exception) -> bool:
    """DynamoDB refused a write because the item would exceed its 400 KB limit."""
    error = getattr(exc, "response", {}).get("Error", {})
    return (
        error.get("Code") == "ValidationException"
        and "size" in str(error.get("Message", "")).lower()
    )


def _trim_history(phone_number_id: str, message_id: str, attributes: dict[str, Any]) -> None:
    """Drop the middle of `history` once it is longer than HISTORY_TRIM_AT (see above).

    Conditional on the length just read, so an append that raced in is never removed by
    mistake: the next update trims instead.
    """
    history = attributes.get("history")
    if not isinstance(history, list) or len(history) <= HISTORY_TRIM_AT:
        return
    drop = range(HISTORY_HEAD, len(history) - HISTORY_TAIL)
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression="REMOVE "
            + ", ".join(f"history[{i}]" for i in drop)
            + " ADD history_dropped :n",
            ConditionExpression="size(history) = :len",
            ExpressionAttributeValues=marshal({":n": len(drop), ":len": len(history)}),
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise


def load(phone_number_id: str, message_id: str) -> dict[str, Any] | None:
    return get(message_pk(phone_number_id, message_id))


def record_new(phone_number_id: str, message_id: str, state: State, fields: dict[str, Any]) -> bool:
    """Create the record in its first state (accepted, scheduled, rejected); False if it exists."""
    at = now()
    item = {
        "pk": message_pk(phone_number_id, message_id),
        "sk": "#",
        "message_id": message_id,
        "phone_number_id": phone_number_id,
        "state": state.value,
        "state_rank": RANK[state],
        "created_at": at,
        "updated_at": at,
        f"at_{state.value}": at,
        "history": _history(state.value, at, fields.get("error")),
        "attempts": 0,
        # A scheduled message's life starts when it is due, not when it was scheduled.
        "expires_at": message_expiry(max(at, float(fields.get("send_at") or at))),
        **{k: v for k, v in fields.items() if v is not None},
    }
    return put_if_absent(item)


def outbound_fields(
    submission: Submission, body: str, *, at: float | None = None
) -> dict[str, Any]:
    """The fields every outbound record starts with, built here once for every producer
    (the sender's claim or schedule, a workflow's scheduled step). `body` is the
    submission as it will be re-queued when due."""
    at = now() if at is None else at
    from wacloud.store.contacts import contact_pk

    return {
        "to": submission.wa_id,
        "type": submission.type,
        "submission": body,
        "priority": submission.priority,
        "campaign_id": submission.campaign_id,
        "variant": submission.variant,
        "tags": submission.tags,
        "idempotency_key": submission.effective_idempotency_key(),
        "gsi1pk": contact_pk(submission.phone_number_id, submission.wa_id),
        "gsi1sk": f"{iso(at)}#OUT",
        "direction": "out",
    }


def schedule(
    phone_number_id: str, message_id: str, fields: dict[str, Any], due: float, priority: int
) -> bool:
    """Create the record `scheduled`, in its DUE shard until `due`; False if it exists."""
    return record_new(
        phone_number_id,
        message_id,
        State.SCHEDULED,
        {**fields, **schedule_fields(phone_number_id, message_id, due, priority)},
    )


def lease(key: dict[str, Any], token: str, at: float, until: float) -> dict[str, Any] | None:
    """Hold a due message (`key` from the due index) for one release run until `until`.

    None when it is no longer releasable, moved to another partition, or another run
    holds an unexpired lease. Not a state change: only the release attributes move.
    """
    releasable = {f":r{i}": s.value for i, s in enumerate(RELEASABLE)}
    try:
        response = dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": key["pk"], "sk": key["sk"]}),
            UpdateExpression="SET release_until = :until, release_token = :token",
            ConditionExpression=f"due_pk = :due AND #state IN ({', '.join(releasable)}) "
            "AND (attribute_not_exists(release_until) OR release_until < :at)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=marshal(
                {":until": until, ":token": token, ":due": key["due_pk"], ":at": at, **releasable}
            ),
            ReturnValues="ALL_NEW",
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return None
        raise
    return unmarshal(response["Attributes"])


def finish_release(item: dict[str, Any], token: str) -> bool:
    """Finish a leased message once its submission is on the queue (`lease` first).

    A scheduled message becomes `queued` (rank-guarded, in history) and leaves the index.
    The sender may already have claimed it from the queue (`sending`, a higher rank):
    then the state is left alone and only the index and lease attributes go, so a
    release never moves a message back. Deferred and retrying messages outrank `queued`
    and stay as they are. False when our lease was lost (another run finishes it).
    """
    pnid, message_id = str(item["phone_number_id"]), str(item["message_id"])
    if item.get("state") == State.SCHEDULED and _transition(
        pnid,
        message_id,
        State.QUEUED,
        at=now(),
        condition="release_token = :token",
        condition_values={":token": token},
        remove=_RELEASE_KEYS,
    ):
        return True
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(pnid, message_id), "sk": "#"}),
            UpdateExpression="REMOVE " + ", ".join(_RELEASE_KEYS),
            ConditionExpression="release_token = :token",
            ExpressionAttributeValues=marshal({":token": token}),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def park(phone_number_id: str, message_id: str, retry_at: float, priority: int = 5) -> bool:
    """Put a deferred or retrying message in the DUE index until `retry_at`.

    For the sender: when a retry or deferral is further away than SQS can delay, mark
    it deferred/retrying as now, call this, and delete the SQS message; the release
    re-queues the stored submission when due. Not a state change.
    """
    waiting = {f":r{i}": s.value for i, s in enumerate(RELEASABLE[1:])}
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression="SET due_pk = :due, due_sk = :sk, retry_at = :retry "
            "REMOVE release_until, release_token",
            ConditionExpression=f"#state IN ({', '.join(waiting)})",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=marshal(
                {
                    ":due": due_partition(message_id),
                    ":sk": due_sk(retry_at, priority, phone_number_id, message_id),
                    ":retry": retry_at,
                    **waiting,
                }
            ),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def cancel_waiting(phone_number_id: str, message_id: str, reason: str) -> bool:
    """Cancel a message no send attempt holds (workflow cancellation).

    Waiting in the DUE index, or already released to the queue, deferred or retrying:
    all are claimable, and `cancelled` is final (rank of `rejected`), so the sender's
    claim never takes it and no status can move it. False if a send attempt holds it
    (`sending`: it may already be at Meta) or it is finished or cancelled.
    """
    waiting = {f":w{i}": state.value for i, state in enumerate(CLAIMABLE)}
    return _transition(
        phone_number_id,
        message_id,
        State.CANCELLED,
        at=now(),
        extra={"error": {"reason": reason, "stage": "schedule"}},
        detail={"reason": reason},
        condition=f"#state IN ({', '.join(waiting)})",
        condition_values=waiting,
        remove=_RELEASE_KEYS,
    )


def claim(phone_number_id: str, message_id: str, fields: dict[str, Any]) -> Claim:
    """Take the message for one send attempt, creating the record if it is new.

    A `sending` claim is never taken here, however old: its outcome may be unknown
    (the holder timed out or died mid-call), and only the sender's reconcile, after
    looking for evidence that Meta accepted it, may take it over (`take_over`).

    A deferred or retrying message is only claimable once its `retry_at` has come
    (less `RETRY_AT_SLACK`, as SQS delays are whole seconds): a copy that arrives early,
    e.g. a second copy left by a crash, or one whose wait exceeded SQS's 900 s maximum
    delay, gets NOT_DUE and is put back to wait.
    """
    at = now()
    token = uuid.uuid4().hex
    names = {"#state": "state"}
    values: dict[str, Any] = {
        ":sending": State.SENDING.value,
        ":rank": RANK[State.SENDING],
        ":token": token,
        ":at": at,
        ":zero": 0,
        ":one": 1,
        ":due": at + RETRY_AT_SLACK,
        ":hist": _history(State.SENDING.value, at),
        ":empty": [],
        ":pn": phone_number_id,
        ":mid": message_id,
        ":exp": message_expiry(at),
        **{f":c{i}": s.value for i, s in enumerate(CLAIMABLE)},
    }
    sets = [
        "#state = :sending",
        "state_rank = :rank",
        "claim_token = :token",
        "claimed_at = :at",
        "updated_at = :at",
        "at_sending = :at",
        "created_at = if_not_exists(created_at, :at)",
        "attempts = if_not_exists(attempts, :zero) + :one",
        "phone_number_id = :pn",
        "message_id = :mid",
        "history = list_append(if_not_exists(history, :empty), :hist)",
        "expires_at = if_not_exists(expires_at, :exp)",
    ]
    present = {k: v for k, v in fields.items() if v is not None}
    for i, (name, value) in enumerate(present.items()):
        names[f"#f{i}"] = name
        values[f":f{i}"] = value
        sets.append(f"#f{i} = if_not_exists(#f{i}, :f{i})")
    claimable = ", ".join(f":c{i}" for i in range(len(CLAIMABLE)))
    try:
        response = dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=(
                f"attribute_not_exists(pk) "
                f"OR (#state IN ({claimable}) AND (attribute_not_exists(retry_at) "
                "OR retry_at <= :due))"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=marshal(values),
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
        old = unmarshal(getattr(exc, "response", {}).get("Item") or {}) or (
            load(phone_number_id, message_id) or {}
        )
        return Claim(_refused(old), None, old)
    item = unmarshal(response["Attributes"])
    _trim_history(phone_number_id, message_id, item)
    return Claim(ClaimOutcome.CLAIMED, token, item)


def _refused(old: dict[str, Any]) -> ClaimOutcome:
    state = old.get("state")
    if state == State.SENDING:
        return ClaimOutcome.IN_FLIGHT
    if state in CLAIMABLE:
        return ClaimOutcome.NOT_DUE
    return ClaimOutcome.FINISHED


def take_over(
    phone_number_id: str, message_id: str, old_token: str, detail: dict[str, Any]
) -> Claim:
    """Take a stale `sending` claim from a holder that is gone, for a fresh attempt.

    Only the reconcile calls this, after it found no evidence that Meta accepted the
    message (sender.py). The condition on the old token makes two copies reconciling
    at once take it over at most once.
    """
    at = now()
    token = uuid.uuid4().hex
    try:
        response = dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression="SET claim_token = :token, claimed_at = :at, updated_at = :at, "
            "attempts = if_not_exists(attempts, :zero) + :one, "
            "history = list_append(if_not_exists(history, :empty), :hist) "
            "REMOVE outcome_unknown_at",
            ConditionExpression="#state = :sending AND claim_token = :old",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=marshal(
                {
                    ":token": token,
                    ":at": at,
                    ":zero": 0,
                    ":one": 1,
                    ":empty": [],
                    ":hist": _history(State.SENDING.value, at, detail),
                    ":sending": State.SENDING.value,
                    ":old": old_token,
                }
            ),
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
        old = unmarshal(getattr(exc, "response", {}).get("Item") or {})
        return Claim(_refused(old) if old else ClaimOutcome.FINISHED, None, old)
    return Claim(ClaimOutcome.CLAIMED, token, unmarshal(response["Attributes"]))


def note_outcome_unknown(
    phone_number_id: str, message_id: str, token: str, error: dict[str, Any]
) -> None:
    """Mark our claim as one whose Graph call may have reached Meta (kept `sending`).

    Costs one write, only on that rare path; the claim itself is what keeps the
    message from being sent again, so a failure here is only logged by the caller.
    """
    at = now()
    dynamodb().update_item(
        TableName=table(),
        Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
        UpdateExpression="SET outcome_unknown_at = if_not_exists(outcome_unknown_at, :at), "
        "last_error = :err, updated_at = :at",
        ConditionExpression="claim_token = :token AND #state = :sending",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues=marshal(
            {":at": at, ":err": error, ":token": token, ":sending": State.SENDING.value}
        ),
    )


def accepted_pk(phone_number_id: str, message_id: str) -> str:
    return f"{phone_number_id}#ACCEPTED#{message_id}"


def note_acceptance(phone_number_id: str, message_id: str, wamid: str, wa_id: str | None) -> bool:
    """Keep the proof that Meta accepted a message when recording `sent` failed.

    A separate item (its own partition key, so not throttled with the record's) that
    the reconcile reads by our message id: the message is then recorded `sent`, never
    sent again. True if it was written (or already there).
    """
    put_if_absent(
        {
            "pk": accepted_pk(phone_number_id, message_id),
            "sk": "#",
            "message_id": message_id,
            "wamid": wamid,
            **({"wa_id": wa_id} if wa_id else {}),
            "created_at": now(),
        }
    )
    return True


def accepted_evidence(phone_number_id: str, message_id: str) -> dict[str, Any] | None:
    """What `note_acceptance` kept for this message, if anything."""
    return get(accepted_pk(phone_number_id, message_id))


# An unknown outcome given up on is recorded `failed`, but ranked below `sent`: any
# status Meta reports later (sent, delivered, read, or a real failure) still moves it,
# so late evidence corrects the record by the usual forward-only rule.
OUTCOME_UNKNOWN_RANK = RANK[State.SENT] - 1


def mark_outcome_unknown(
    phone_number_id: str, message_id: str, old_token: str, error: dict[str, Any]
) -> bool:
    """Give up on a claim whose outcome stayed unknown: `failed`, for an operator."""
    return _transition(
        phone_number_id,
        message_id,
        State.FAILED,
        at=now(),
        rank=OUTCOME_UNKNOWN_RANK,
        extra={"error": error},
        detail=error,
        condition="claim_token = :old AND #state = :sending",
        condition_values={":old": old_token, ":sending": State.SENDING.value},
    )


def _transition(
    phone_number_id: str,
    message_id: str,
    state: State,
    *,
    at: float,
    extra: dict[str, Any] | None = None,
    condition: str | None = None,
    condition_values: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
    rank: int | None = None,
    remove: Sequence[str] = (),
    first: dict[str, Any] | None = None,
) -> bool:
    """Move to `state` if that is forward (by rank) and `condition` holds; False otherwise.

    The one state change every writer goes through: rank-guarded, `at_<state>` kept
    the first time, appended to `history`; `remove` drops attributes in the same write;
    `first` sets attributes only where they are absent (a value once kept stays).
    """
    names = {"#state": "state", "#at_state": f"at_{state.value}"}
    values: dict[str, Any] = {
        ":state": state.value,
        ":rank": RANK[state] if rank is None else rank,
        ":at": at,
        ":hist": _history(state.value, at, detail),
        ":empty": [],
        **(condition_values or {}),
    }
    sets = [
        "#state = :state",
        "state_rank = :rank",
        "updated_at = :at",
        "#at_state = if_not_exists(#at_state, :at)",
        "history = list_append(if_not_exists(history, :empty), :hist)",
    ]
    for i, (name, value) in enumerate(
        {k: v for k, v in (extra or {}).items() if v is not None}.items()
    ):
        names[f"#x{i}"] = name
        values[f":x{i}"] = value
        sets.append(f"#x{i} = :x{i}")
    for i, (name, value) in enumerate(
        {k: v for k, v in (first or {}).items() if v is not None}.items()
    ):
        names[f"#f{i}"] = name
        values[f":f{i}"] = value
        sets.append(f"#f{i} = if_not_exists(#f{i}, :f{i})")
    cond = "attribute_exists(pk) AND state_rank < :rank"
    if condition:
        cond += f" AND ({condition})"
    update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(remove) if remove else "")
    try:
        response = dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression=update,
            ConditionExpression=cond,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=marshal(values),
            ReturnValues="UPDATED_NEW",
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    _trim_history(phone_number_id, message_id, unmarshal(response.get("Attributes") or {}))
    return True


def _set_fields(
    phone_number_id: str, message_id: str, fields: dict[str, Any], *, only_if_absent: bool = False
) -> None:
    fields = {k: v for k, v in fields.items() if v is not None}
    names = {f"#y{i}": k for i, k in enumerate(fields)}
    values = {f":y{i}": v for i, v in enumerate(fields.values())}
    sets = [
        f"#y{i} = if_not_exists(#y{i}, :y{i})" if only_if_absent else f"#y{i} = :y{i}"
        for i in range(len(fields))
    ]
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=marshal(values),
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise


def wamid_lookup_item(phone_number_id: str, message_id: str, wamid: str) -> dict[str, Any]:
    """The lookup item that ties Meta's wamid to our message id (`{pnid}#WAMID#{wamid}`)."""
    at = now()
    return {
        "pk": wamid_pk(phone_number_id, wamid),
        "sk": "#",
        "message_id": message_id,
        "created_at": at,
        "expires_at": message_expiry(at),
    }


def _put_wamid_lookup(phone_number_id: str, message_id: str, wamid: str) -> None:
    put_if_absent(wamid_lookup_item(phone_number_id, message_id, wamid))


def write_after_batch(items: Sequence[dict[str, Any]]) -> None:
    """A sender batch's unconditional writes, once after its sends: one BatchWriteItem
    per 25 items (the wamid lookups of `wamid_lookup_item` and the pair buckets of
    `wacloud.store.throughput.bucket_item`). Raises UnprocessedWritesError when
    throttling left some unwritten; see docs/outbound.md for why a lost write is safe.
    """
    batch_put(items)


def link_wamid(phone_number_id: str, message_id: str, wamid: str) -> None:
    _put_wamid_lookup(phone_number_id, message_id, wamid)
    _set_fields(phone_number_id, message_id, {"wamid": wamid}, only_if_absent=True)


def message_id_for_wamid(phone_number_id: str, wamid: str) -> str | None:
    item = get(wamid_pk(phone_number_id, wamid), consistent=False)
    return str(item["message_id"]) if item else None


def mark_sent(
    phone_number_id: str,
    message_id: str,
    token: str,
    wamid: str,
    wa_id: str | None,
    *,
    lookup: bool = True,
) -> None:
    """Record Meta's acceptance. The wamid is always kept; the state only moves if a
    faster status webhook has not already moved it further.

    `lookup=False`: the caller writes the wamid lookup itself, later (a sender batch
    writes all of its lookups in one BatchWriteItem after its sends, `write_after_batch`).
    Nothing depends on the lookup in between: status webhooks name our message id in
    their callback data, and Meta's `sent`/`failed` status writes the lookup too.
    """
    at = now()
    if lookup:
        _put_wamid_lookup(phone_number_id, message_id, wamid)
    moved = _transition(
        phone_number_id,
        message_id,
        State.SENT,
        at=at,
        extra={"accepted_at": at, "wamid": wamid, **({"recipient_wa_id": wa_id} if wa_id else {})},
    )
    if not moved:  # a faster status webhook got there first
        _set_fields(phone_number_id, message_id, {"wamid": wamid}, only_if_absent=True)


def mark_retrying(
    phone_number_id: str, message_id: str, token: str, error: dict[str, Any], retry_at: float
) -> bool:
    """Release our claim for a later attempt (only if we still hold it)."""
    return _release(phone_number_id, message_id, token, State.RETRYING, error, retry_at)


def mark_deferred(
    phone_number_id: str, message_id: str, token: str, reason: dict[str, Any], retry_at: float
) -> bool:
    return _release(phone_number_id, message_id, token, State.DEFERRED, reason, retry_at)


def _release(
    phone_number_id: str,
    message_id: str,
    token: str,
    state: State,
    detail: dict[str, Any],
    retry_at: float,
) -> bool:
    # Going back from `sending` to a claimable state is the one allowed step down in
    # rank, and only for the holder of the claim. Retries and deferrals are counted
    # apart: only retries (Meta errors) are bounded by MAX_SEND_ATTEMPTS, while
    # deferrals (our limits, Meta's rate limits) must never make a message fail.
    at = now()
    counter = "retries" if state is State.RETRYING else "deferrals"
    try:
        response = dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression="SET #state = :state, state_rank = :rank, updated_at = :at, "
            "retry_at = :retry, last_error = :err, "
            "#counter = if_not_exists(#counter, :zero) + :one, "
            "history = list_append(history, :hist) REMOVE claim_token",
            ConditionExpression="claim_token = :token AND #state = :sending",
            ExpressionAttributeNames={"#state": "state", "#counter": counter},
            ExpressionAttributeValues=marshal(
                {
                    ":zero": 0,
                    ":one": 1,
                    ":state": state.value,
                    ":rank": RANK[state],
                    ":at": at,
                    ":retry": retry_at,
                    ":err": detail,
                    ":hist": _history(state.value, at, detail),
                    ":token": token,
                    ":sending": State.SENDING.value,
                }
            ),
            ReturnValues="UPDATED_NEW",
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    _trim_history(phone_number_id, message_id, unmarshal(response.get("Attributes") or {}))
    return True


def mark_rejected(
    phone_number_id: str, message_id: str, token: str, refusal: dict[str, Any]
) -> bool:
    """A claimed message that policy refuses: final, with the reason (only the claim holder)."""
    return _finish_claimed(phone_number_id, message_id, token, State.REJECTED, refusal)


def mark_cancelled(
    phone_number_id: str, message_id: str, token: str, reason: dict[str, Any]
) -> bool:
    """A claimed message withdrawn before any send (its campaign was cancelled)."""
    return _finish_claimed(phone_number_id, message_id, token, State.CANCELLED, reason)


def _finish_claimed(
    phone_number_id: str, message_id: str, token: str, state: State, why: dict[str, Any]
) -> bool:
    return _transition(
        phone_number_id,
        message_id,
        state,
        at=now(),
        extra={"error": why},
        detail=why,
        condition="claim_token = :token",
        condition_values={":token": token},
    )


def mark_failed(
    phone_number_id: str, message_id: str, error: dict[str, Any], token: str | None = None
) -> bool:
    condition = "claim_token = :token" if token else None
    return _transition(
        phone_number_id,
        message_id,
        State.FAILED,
        at=now(),
        extra={"error": error},
        detail=error,
        condition=condition,
        condition_values={":token": token} if token else None,
    )


def delivery_error(detail: dict[str, Any]) -> dict[str, Any]:
    """A `failed` status webhook's errors in the shape the sender records Graph errors
    (code, title, message, details), so a failed record reads the same either way."""
    errors = detail.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    data = first.get("error_data")
    out = {
        "code": first.get("code"),
        "title": first.get("title"),
        "message": first.get("message"),
        "details": data.get("details") if isinstance(data, dict) else None,
        "stage": "delivery",
        "errors": errors,
    }
    return {k: v for k, v in out.items() if v is not None}


def apply_status(
    phone_number_id: str,
    message_id: str,
    status: str,
    at: float,
    wamid: str,
    detail: dict[str, Any] | None,
) -> bool:
    """Apply a (deduplicated) status webhook; True if it moved the state forward.

    The timestamp of every status is kept even when the state does not move (a late
    `delivered` after `read` still records when delivery happened), and so is Meta's
    first `pricing` object: it comes on `sent` and on one of delivered/read, and the
    `sent` webhook usually finds the record `sent` already (the sender's). Kept in the
    same write, it is what the facts feed reads cost from (wacloud.store.changes).
    """
    try:
        state = State(status)
    except ValueError:
        return False
    if state in (State.SENT, State.FAILED):
        # Meta's first status for a message: it may be the only trace of a send whose
        # response a crash lost, so make the wamid findable. Later statuses find it.
        _put_wamid_lookup(phone_number_id, message_id, wamid)
    pricing = (detail or {}).get("pricing") or None
    moved = _transition(
        phone_number_id,
        message_id,
        state,
        at=now(),
        extra={
            f"status_at_{state.value}": at,
            "wamid": wamid,
            **({"error": delivery_error(detail)} if state is State.FAILED and detail else {}),
        },
        first={"pricing": pricing},
        detail=detail,
    )
    if not moved:
        _set_fields(
            phone_number_id,
            message_id,
            {f"status_at_{state.value}": at, "wamid": wamid, "pricing": pricing},
            only_if_absent=True,
        )
    return moved
