"""Work that waits for a time: scheduled sends, parked retries, housekeeping (QueueProcessor).

Everything that must happen "at T" sits in the sparse `due` index (due_pk, due_sk):

* `DUE#0` .. `DUE#{DUE_SHARDS-1}` partitions: messages to send at T, spread by a hash
  of the message id so no single index partition takes every scheduled write (one
  partition takes about 1,000 writes/s). due_sk = `{iso T}#{9 - priority}#{pnid}#{id}`.
  Scheduled messages (send_at in the future), and deferred or retrying messages whose
  next attempt is beyond SQS's 15-minute maximum delay (`park`). A release reads
  every shard. Items written before sharding sit in the single `DUE` partition; a
  release reads it too, so they are still sent (one extra query a run; it can go
  once no stack has such items left).
* `HK` partition: housekeeping at T. due_sk = `{iso T}#{pk}`. Temporary blocks that
  end, and state items (conversation state) whose TTL has passed: DynamoDB deletes
  expired items only eventually (up to days later), so we remove them on time and
  readers also filter on the TTL attribute (`is_live`).

Release protocol (never lost, released once). A run first takes a short *lease* on
each due message with a conditional write, then puts the submissions on the outbound
queue, then finishes them (`scheduled -> queued`, due keys removed) only if it still
holds the lease. Two overlapping runs cannot both lease a message; a run that dies
between leasing and enqueueing leaves the message in the index, and the next run
takes it over when the lease expires. If a run dies after enqueueing but before
finishing, the message is enqueued a second time after the lease; the sender's claim
(one message record per idempotency key) still sends it once.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import iso, now
from wacloud.infra.dynamo import get, is_conditional_failure, marshal, table, unmarshal
from wacloud.store.messages import CLAIMABLE, RANK, State, message_pk

DUE_PARTITION = "DUE"  # before sharding: still read, never written
# Shards of the DUE partition; a release costs one query per shard. It may be raised;
# never lower it while items wait (those in the dropped shards would never be read).
DUE_SHARDS = 8
HOUSEKEEPING_PARTITION = "HK"
# A lease outlives any run (QueueProcessor's timeout is 60 s) so it is never taken over
# while its holder is still working.
RELEASE_LEASE_SECONDS = 120
RELEASABLE = (State.SCHEDULED, State.DEFERRED, State.RETRYING)
CANCELLED = State.CANCELLED.value
# Beyond this, SQS cannot delay a message (DelaySeconds max 900): park it here instead.
SQS_MAX_DELAY_SECONDS = 900
ENQUEUE_CHUNK = 50


def due_partition(message_id: str) -> str:
    """The DUE shard a message waits in (stable: the same id always maps to it)."""
    return f"{DUE_PARTITION}#{hashlib.sha256(message_id.encode()).digest()[0] % DUE_SHARDS}"


def due_partitions() -> list[str]:
    """Every partition a release reads: the shards, then the pre-sharding one."""
    return [f"{DUE_PARTITION}#{shard}" for shard in range(DUE_SHARDS)] + [DUE_PARTITION]


def due_sk(due: float, priority: int, phone_number_id: str, message_id: str) -> str:
    """Sorts by due time, then highest priority first (the sender writes the same)."""
    return f"{iso(due)}#{9 - priority}#{phone_number_id}#{message_id}"


def _order(key: dict[str, Any]) -> tuple[str, str]:
    """Backlog order: highest priority first, then earliest due."""
    due, _, rest = str(key["due_sk"]).partition("#")
    return rest.partition("#")[0], due


def due_keys(partition: str, until: float, limit: int = 2000) -> list[dict[str, Any]]:
    """Keys due at or before `until` (oldest first), following pages up to `limit`."""
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "IndexName": "due",
        "KeyConditionExpression": "due_pk = :p AND due_sk <= :until",
        "ExpressionAttributeValues": marshal({":p": partition, ":until": f"{iso(until)}#~"}),
    }
    keys: list[dict[str, Any]] = []
    while len(keys) < limit:
        kwargs["Limit"] = limit - len(keys)
        response = dynamodb().query(**kwargs)
        keys.extend(unmarshal(i) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return keys


@dataclass
class ReleaseReport:
    released: int = 0
    contended: int = 0  # leased by another run, or no longer releasable
    backlog: int = 0  # due keys seen this run


def release_due(
    enqueue: Callable[[list[str]], None],
    *,
    limit: int = 2000,
    deadline: float | None = None,
    at: float | None = None,
) -> ReleaseReport:
    """Release due messages, highest priority first, each once; bounded by `deadline`."""
    at = now() if at is None else at
    found = [key for part in due_partitions() for key in due_keys(part, at, limit)]
    keys = sorted(found, key=_order)[:limit]
    report = ReleaseReport(backlog=len(keys))
    token = uuid.uuid4().hex
    for start in range(0, len(keys), ENQUEUE_CHUNK):
        if deadline is not None and now() >= deadline:
            break
        leased: list[dict[str, Any]] = []
        for key in keys[start : start + ENQUEUE_CHUNK]:
            item = _lease(key, token, at)
            if item is None:
                report.contended += 1
            else:
                leased.append(item)
        if not leased:
            continue
        enqueue([str(item["submission"]) for item in leased])
        for item in leased:
            _finish(item, token)
        report.released += len(leased)
    return report


def _lease(key: dict[str, Any], token: str, at: float) -> dict[str, Any] | None:
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
                {
                    ":until": at + RELEASE_LEASE_SECONDS,
                    ":token": token,
                    ":due": key["due_pk"],
                    ":at": at,
                    **releasable,
                }
            ),
            ReturnValues="ALL_NEW",
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return None
        raise
    return unmarshal(response["Attributes"])


def _finish(item: dict[str, Any], token: str) -> None:
    at = now()
    values: dict[str, Any] = {":token": token}
    update = "REMOVE due_pk, due_sk, release_until, release_token"
    if item.get("state") == State.SCHEDULED:
        # Only a scheduled message changes state; deferred/retrying outrank `queued`
        # and stay as they are (still claimable by the sender).
        update = (
            "SET #state = :queued, state_rank = :rank, updated_at = :at, at_queued = :at " + update
        )
        values.update({":queued": State.QUEUED.value, ":rank": RANK[State.QUEUED], ":at": at})
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "Key": marshal({"pk": item["pk"], "sk": item["sk"]}),
        "UpdateExpression": update,
        "ConditionExpression": "release_token = :token",
        "ExpressionAttributeValues": marshal(values),
    }
    if "#state" in update:
        kwargs["ExpressionAttributeNames"] = {"#state": "state"}
    try:
        dynamodb().update_item(**kwargs)
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
        # Our lease expired and another run took over: it finishes the message.


# ------------------------------------------------------------------ for other owners
def schedule_fields(
    phone_number_id: str, message_id: str, due: float, priority: int
) -> dict[str, Any]:
    """The index fields that put a message record in its DUE shard."""
    return {
        "send_at": due,
        "due_pk": due_partition(message_id),
        "due_sk": due_sk(due, priority, phone_number_id, message_id),
    }


def park(phone_number_id: str, message_id: str, retry_at: float, priority: int = 5) -> bool:
    """Put a deferred or retrying message in the DUE index until `retry_at`.

    For the sender: when a retry or deferral is further away than SQS can delay
    (`SQS_MAX_DELAY_SECONDS`), mark it deferred/retrying as now, call this, and delete
    the SQS message; the QueueProcessor re-queues the stored submission when due.
    """
    releasable = {f":r{i}": s.value for i, s in enumerate(RELEASABLE[1:])}
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression="SET due_pk = :due, due_sk = :sk, retry_at = :retry "
            "REMOVE release_until, release_token",
            ConditionExpression=f"#state IN ({', '.join(releasable)})",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=marshal(
                {
                    ":due": due_partition(message_id),
                    ":sk": due_sk(retry_at, priority, phone_number_id, message_id),
                    ":retry": retry_at,
                    **releasable,
                }
            ),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def cancel_scheduled(phone_number_id: str, message_id: str, reason: str) -> bool:
    """Cancel a message no send attempt holds (workflow cancellation).

    Waiting in the DUE index, or already released to the queue, deferred or retrying:
    all are claimable, and `cancelled` is final (rank of `rejected`), so the sender's
    claim never takes it and no status can move it. False if a send attempt holds it
    (`sending`: it may already be at Meta) or it is finished or cancelled.
    """
    at = now()
    waiting = {f":w{i}": state for i, state in enumerate(CLAIMABLE)}
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": message_pk(phone_number_id, message_id), "sk": "#"}),
            UpdateExpression="SET #state = :cancelled, state_rank = :rank, updated_at = :at, "
            "at_cancelled = :at, #err = :err, history = list_append(history, :hist) "
            "REMOVE due_pk, due_sk, release_until, release_token",
            ConditionExpression=f"#state IN ({', '.join(waiting)})",
            ExpressionAttributeNames={"#state": "state", "#err": "error"},
            ExpressionAttributeValues=marshal(
                {
                    ":cancelled": CANCELLED,
                    ":rank": RANK[State.CANCELLED],
                    ":at": at,
                    ":err": {"reason": reason, "stage": "schedule"},
                    ":hist": [{"state": CANCELLED, "at": iso(at), "detail": {"reason": reason}}],
                    **{name: state.value for name, state in waiting.items()},
                }
            ),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


# ------------------------------------------------------------------ housekeeping
def temporary_block(phone_number_id: str, wa_id: str, until: float, *, reason: str) -> None:
    """Block a contact until `until`; housekeeping lifts the block when it is over."""
    from wacloud.store.contacts import contact_pk

    pk = contact_pk(phone_number_id, wa_id)
    dynamodb().update_item(
        TableName=table(),
        Key=marshal({"pk": pk, "sk": "#"}),
        UpdateExpression="SET blocked = :t, blocked_at = :at, blocked_reason = :reason, "
        "blocked_until = :until, wa_id = :wa, phone_number_id = :pn, "
        "due_pk = :hk, due_sk = :sk",
        ExpressionAttributeValues=marshal(
            {
                ":t": True,
                ":at": now(),
                ":reason": reason,
                ":until": until,
                ":wa": wa_id,
                ":pn": phone_number_id,
                ":hk": HOUSEKEEPING_PARTITION,
                ":sk": f"{iso(until)}#{pk}",
            }
        ),
    )


def expire_at(pk: str, sk: str, at: float) -> None:
    """Register a state item (e.g. conversation state) for removal when its TTL passes."""
    dynamodb().update_item(
        TableName=table(),
        Key=marshal({"pk": pk, "sk": sk}),
        UpdateExpression="SET expires_at = :ttl, due_pk = :hk, due_sk = :sk",
        ExpressionAttributeValues=marshal(
            {":ttl": int(at), ":hk": HOUSEKEEPING_PARTITION, ":sk": f"{iso(at)}#{pk}"}
        ),
    )


def is_live(item: dict[str, Any] | None, at: float | None = None) -> bool:
    """False for an item whose TTL (`expires_at`) has passed but DynamoDB has not deleted."""
    if not item:
        return False
    ttl = item.get("expires_at")
    return ttl is None or float(ttl) > (now() if at is None else at)


@dataclass
class HousekeepingReport:
    unblocked: int = 0
    expired: int = 0
    skipped: int = 0


def housekeeping(
    *, limit: int = 500, deadline: float | None = None, at: float | None = None
) -> HousekeepingReport:
    """Lift temporary blocks that are over and delete state past its expiry."""
    at = now() if at is None else at
    report = HousekeepingReport()
    for key in due_keys(HOUSEKEEPING_PARTITION, at, limit):
        if deadline is not None and now() >= deadline:
            break
        item = get(key["pk"], key["sk"])
        if item is None:
            report.skipped += 1
            continue
        block_over = item.get("blocked_until") is not None and float(item["blocked_until"]) <= at
        if block_over and _unblock(key, at):
            report.unblocked += 1
            continue
        ttl_over = item.get("expires_at") is not None and float(item["expires_at"]) <= at
        if ttl_over and _delete_expired(key, at):
            report.expired += 1
            continue
        report.skipped += 1
        _drop_from_index(key, str(key["due_sk"]))
    return report


def _unblock(key: dict[str, Any], at: float) -> bool:
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": key["pk"], "sk": key["sk"]}),
            UpdateExpression="SET blocked = :f, blocked_at = :at, blocked_reason = :reason "
            "REMOVE blocked_until, due_pk, due_sk",
            ConditionExpression="blocked_until <= :at",
            ExpressionAttributeValues=marshal(
                {":f": False, ":at": at, ":reason": "temporary block ended"}
            ),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def _delete_expired(key: dict[str, Any], at: float) -> bool:
    try:
        dynamodb().delete_item(
            TableName=table(),
            Key=marshal({"pk": key["pk"], "sk": key["sk"]}),
            ConditionExpression="expires_at <= :at",
            ExpressionAttributeValues=marshal({":at": int(at)}),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def _drop_from_index(key: dict[str, Any], seen_sk: str) -> None:
    """The item was due but had nothing to do (block made permanent, TTL extended
    without re-registering): take it out of the index unless it was re-registered."""
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": key["pk"], "sk": key["sk"]}),
            UpdateExpression="REMOVE due_pk, due_sk",
            ConditionExpression="due_sk = :sk",
            ExpressionAttributeValues=marshal({":sk": seen_sk}),
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise


__all__: Sequence[str] = [
    "CANCELLED",
    "DUE_PARTITION",
    "DUE_SHARDS",
    "HOUSEKEEPING_PARTITION",
    "ReleaseReport",
    "cancel_scheduled",
    "due_keys",
    "due_partition",
    "due_partitions",
    "due_sk",
    "expire_at",
    "housekeeping",
    "is_live",
    "park",
    "release_due",
    "schedule_fields",
    "temporary_block",
]
