"""Conversations: one item per customer per business number, saying who answers.

`{pnid}#CONV#{wa_id}`, sk `#`. The bot answers (`state` ``bot``, also when there is no
item) until the conversation is handed to a person (``handoff``); then the bot stays
silent until a person releases it or `handoff_until` passes. This module is the one
writer of the item; every transition is a conditional update, so two deliveries of
the same message (or the inbound processor and the assistant at once) can never both
enter handoff, and the operators are told once (`notified_at`).

Attributes:
* ``state``            -- ``bot`` | ``handoff``
* ``handoff_reason``   -- why (wacloud.conversations.HANDOFF_REASONS)
* ``handoff_at``       -- when it entered handoff (epoch seconds)
* ``handoff_until``    -- when the bot answers again unless released earlier
* ``handoff_wamid``    -- the customer message that caused it (a redelivery of that
  message finishes the handoff instead of being ignored)
* ``handoff_language`` -- the customer's language as guessed then (for operators)
* ``notified_at``      -- when the operators were told of this handoff
* ``released_at``, ``released_by`` -- the last release
* ``summary``, ``summary_upto`` -- the assistant's running summary and the time of
  the last turn it covers
* ``tokens``           -- model tokens used for this conversation (ADD)
* ``assignee``         -- the agent answering (state ``assigned``), ``assigned_at``
* ``labels``           -- agents' labels (a list, sorted)
* ``last_activity_at`` -- the last customer message, agent reply or transition of a
  conversation in the inbox
* ``resolved_at``, ``resolved_by`` -- the last resolve (state ``resolved``)
* ``first_reply_at``   -- a person's first reply since the last handoff (set by
  `touch` with ``agent_reply``): the first-response time of analytics
* ``survey_message_id``, ``survey_sent_at`` -- the satisfaction survey sent on resolve;
  ``survey_answer``, ``survey_answered_at`` -- the customer's answer to THAT message
* ``suggestion``       -- the assistant's draft answer when it handed over for low
  confidence: ``{text, confidence, at}``, for the agent to use or ignore; removed by a
  new handoff, an agent's reply, a release or a resolve (never logged)
* ``gsi2pk`` / ``gsi2sk`` -- the inbox index: ``{pnid}#INBOX`` and
  ``{1 waiting | 0 other}#{last_activity_at:017.6f}`` (read newest first, so the
  conversations waiting for a person come first, then by last activity). A
  conversation enters the inbox at its first handoff or agent action and stays.

States: ``bot`` (also no item), ``handoff`` (waiting for a person, until
`handoff_until`), ``assigned`` (an agent has it: silent like handoff, and without the
timeout: it stays with the agent until released, resolved or reassigned), ``resolved``
(the bot answers, as in ``bot``).

The item expires with the messages it summarises (MESSAGE_RETENTION_DAYS, pushed back
by every write).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from wacloud.errors import ConflictError, InputError
from wacloud.infra.aws import dynamodb
from wacloud.infra.dynamo import (
    Expr,
    conditional_update,
    get,
    is_conditional_failure,
    key,
    marshal,
    table,
    unmarshal,
    update,
)
from wacloud.infra.retention import message_expiry

BOT = "bot"
HANDOFF = "handoff"
ASSIGNED = "assigned"
RESOLVED = "resolved"
STATES = (BOT, HANDOFF, ASSIGNED, RESOLVED)
#: States in which a person has the conversation (the bot stays silent).
WITH_A_PERSON = (HANDOFF, ASSIGNED)
SK = "#"
INBOX_INDEX = "gsi2"


def inbox_pk(phone_number_id: str) -> str:
    return f"{phone_number_id}#INBOX"


def inbox_sk(waiting: bool, last_activity_at: float) -> str:
    """Waiting conversations sort above the others when read newest first."""
    return f"{1 if waiting else 0}#{last_activity_at:017.6f}"


def conversation_pk(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}#CONV#{wa_id}"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _suggestion(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not value.get("text"):
        return None
    return {
        "text": str(value["text"]),
        "confidence": float(value.get("confidence") or 0.0),
        "at": float(value.get("at") or 0.0),
    }


@dataclass(frozen=True, slots=True)
class Conversation:
    """The conversation item, typed; absent attributes are None (state ``bot``)."""

    phone_number_id: str
    wa_id: str
    state: str = BOT
    handoff_reason: str | None = None
    handoff_at: float | None = None
    handoff_until: float | None = None
    handoff_wamid: str | None = None
    handoff_language: str | None = None
    notified_at: float | None = None
    released_at: float | None = None
    released_by: str | None = None
    summary: str | None = None
    #: The gsi1 sort key of the last turn the summary covers (sorts like the turns).
    summary_upto: str | None = None
    tokens: int = 0
    assignee: str | None = None
    assigned_at: float | None = None
    labels: tuple[str, ...] = ()
    last_activity_at: float | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    survey_message_id: str | None = None
    survey_sent_at: float | None = None
    survey_answer: str | None = None
    survey_answered_at: float | None = None
    first_reply_at: float | None = None
    suggestion: dict[str, Any] | None = None
    in_inbox: bool = False

    def in_handoff(self, at: float) -> bool:
        """True while a person has the conversation: assigned to an agent, or handed
        over and not yet timed out."""
        if self.state == ASSIGNED:
            return True
        return self.state == HANDOFF and (self.handoff_until is None or at < self.handoff_until)

    def waiting(self, at: float) -> bool:
        """Handed over, nobody assigned yet, not timed out."""
        return self.state == HANDOFF and self.in_handoff(at)

    def effective_state(self, at: float) -> str:
        """The state as the customer lives it: a timed-out handoff is the bot's again."""
        if self.state == HANDOFF and not self.in_handoff(at):
            return BOT
        return self.state

    @classmethod
    def from_item(
        cls, phone_number_id: str, wa_id: str, item: dict[str, Any] | None
    ) -> Conversation:
        if not item:
            return cls(phone_number_id, wa_id)
        return cls(
            phone_number_id=phone_number_id,
            wa_id=wa_id,
            state=str(item.get("state") or BOT),
            handoff_reason=_str(item.get("handoff_reason")),
            handoff_at=_float(item.get("handoff_at")),
            handoff_until=_float(item.get("handoff_until")),
            handoff_wamid=_str(item.get("handoff_wamid")),
            handoff_language=_str(item.get("handoff_language")),
            notified_at=_float(item.get("notified_at")),
            released_at=_float(item.get("released_at")),
            released_by=_str(item.get("released_by")),
            summary=_str(item.get("summary")),
            summary_upto=_str(item.get("summary_upto")),
            tokens=int(item.get("tokens") or 0),
            assignee=_str(item.get("assignee")),
            assigned_at=_float(item.get("assigned_at")),
            labels=tuple(sorted(str(v) for v in item.get("labels") or ())),
            last_activity_at=_float(item.get("last_activity_at")),
            resolved_at=_float(item.get("resolved_at")),
            resolved_by=_str(item.get("resolved_by")),
            survey_message_id=_str(item.get("survey_message_id")),
            survey_sent_at=_float(item.get("survey_sent_at")),
            survey_answer=_str(item.get("survey_answer")),
            survey_answered_at=_float(item.get("survey_answered_at")),
            first_reply_at=_float(item.get("first_reply_at")),
            suggestion=_suggestion(item.get("suggestion")),
            in_inbox=bool(item.get("gsi2pk")),
        )

    def to_item(self) -> dict[str, Any]:
        """The item as stored (None attributes left out)."""
        item: dict[str, Any] = {
            "pk": conversation_pk(self.phone_number_id, self.wa_id),
            "sk": SK,
            "phone_number_id": self.phone_number_id,
            "wa_id": self.wa_id,
            "state": self.state,
            "handoff_reason": self.handoff_reason,
            "handoff_at": self.handoff_at,
            "handoff_until": self.handoff_until,
            "handoff_wamid": self.handoff_wamid,
            "handoff_language": self.handoff_language,
            "notified_at": self.notified_at,
            "released_at": self.released_at,
            "released_by": self.released_by,
            "summary": self.summary,
            "summary_upto": self.summary_upto,
            "tokens": self.tokens,
            "assignee": self.assignee,
            "assigned_at": self.assigned_at,
            "labels": list(self.labels) or None,
            "last_activity_at": self.last_activity_at,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "survey_message_id": self.survey_message_id,
            "survey_sent_at": self.survey_sent_at,
            "survey_answer": self.survey_answer,
            "survey_answered_at": self.survey_answered_at,
            "first_reply_at": self.first_reply_at,
            "suggestion": self.suggestion,
        }
        if self.in_inbox and self.last_activity_at is not None:
            item["gsi2pk"] = inbox_pk(self.phone_number_id)
            item["gsi2sk"] = inbox_sk(self.state == HANDOFF, self.last_activity_at)
        return {k: v for k, v in item.items() if v is not None}


def load(phone_number_id: str, wa_id: str) -> Conversation:
    """The conversation (strongly consistent); a bot conversation when there is none."""
    return Conversation.from_item(
        phone_number_id, wa_id, get(conversation_pk(phone_number_id, wa_id), SK)
    )


def _identity(expr: Expr, phone_number_id: str, wa_id: str, at: float) -> Expr:
    return expr.set_fields(
        {"phone_number_id": phone_number_id, "wa_id": wa_id, "expires_at": message_expiry(at)}
    )


def enter_handoff(
    phone_number_id: str,
    wa_id: str,
    *,
    reason: str,
    at: float,
    until: float,
    wamid: str | None = None,
    language: str | None = None,
) -> bool:
    """Hand the conversation to a person, only from ``bot`` or an expired handoff.

    True if this call entered handoff; False if a person has it already (a second
    keyword, a concurrent request, a redelivered message).
    """
    expr = Expr()
    state, until_name = expr.name("state"), expr.name("handoff_until")
    handoff = expr.value(HANDOFF)
    expr.when(
        f"attribute_not_exists({state}) OR NOT ({state} IN ({handoff}, {expr.value(ASSIGNED)}))"
        f" OR ({state} = {handoff} AND {until_name} <= {expr.value(at)})"
    )
    expr.set("state", HANDOFF).set("handoff_reason", reason).set("handoff_at", at)
    expr.set("handoff_until", until)
    _inbox(expr, phone_number_id, waiting=True, at=at)
    expr.set_fields({"handoff_wamid": wamid, "handoff_language": language})
    removed = [
        name
        for name, value in (("handoff_wamid", wamid), ("handoff_language", language))
        if value is None
    ]
    expr.remove("notified_at", "assignee", "suggestion", *removed)
    return conditional_update(
        conversation_pk(phone_number_id, wa_id), SK, _identity(expr, phone_number_id, wa_id, at)
    )


def mark_notified(phone_number_id: str, wa_id: str, *, handoff_at: float, at: float) -> bool:
    """Note that the operators were told of the handoff that began at ``handoff_at``
    (conditional on it: a later handoff is not marked by an earlier one's delivery)."""
    expr = Expr()
    expr.when(f"{expr.name('handoff_at')} = {expr.value(handoff_at)}")
    expr.set("notified_at", at)
    return conditional_update(conversation_pk(phone_number_id, wa_id), SK, expr)


def release(phone_number_id: str, wa_id: str, *, by: str, at: float) -> bool:
    """Give the conversation back to the bot; True if a person had it (handoff, even
    one that had timed out, or assigned), False if the bot had it already.

    An assignee's open count goes down with it (wacloud.store.agents)."""
    return _leave_person(phone_number_id, wa_id, BOT, by=by, at=at) is not None


def resolve(phone_number_id: str, wa_id: str, *, by: str, at: float) -> Conversation | None:
    """Mark the conversation resolved (the bot answers again), from any state but
    resolved; the conversation as it was before, or None if it was resolved already."""
    return _leave_person(phone_number_id, wa_id, RESOLVED, by=by, at=at)


def _leave_person(
    phone_number_id: str, wa_id: str, target: str, *, by: str, at: float
) -> Conversation | None:
    from wacloud.store import agents

    for _ in range(5):
        before = load(phone_number_id, wa_id)
        if target == BOT and before.state not in WITH_A_PERSON:
            return None
        if target == RESOLVED and before.state == RESOLVED:
            return None
        expr = Expr()
        _same_hands(expr, before)
        if target == BOT:
            expr.set("state", BOT).set("released_at", at).set("released_by", by)
        else:
            expr.set("state", RESOLVED).set("resolved_at", at).set("resolved_by", by)
            expr.remove("survey_message_id", "survey_sent_at", "survey_answer")
            expr.remove("survey_answered_at")
        expr.remove("handoff_until", "assignee", "assigned_at", "suggestion")
        _inbox(expr, phone_number_id, waiting=False, at=at)
        _identity(expr, phone_number_id, wa_id, at)
        writes = [_update_request(conversation_pk(phone_number_id, wa_id), SK, expr)]
        if before.assignee and before.state == ASSIGNED:
            writes.append(agents.open_delta_request(before.assignee, -1))
        if transact(writes):
            return before
    raise ConflictError("the conversation kept changing; try again")


def _same_hands(expr: Expr, before: Conversation) -> None:
    """Condition: the state and assignee are still those read in ``before``."""
    state = expr.name("state")
    if before.state == BOT:
        expr.when(f"attribute_not_exists({state}) OR {state} = {expr.value(BOT)}")
    else:
        expr.when(f"{state} = {expr.value(before.state)}")
    assignee = expr.name("assignee")
    if before.assignee is None:
        expr.when(f"attribute_not_exists({assignee})")
    else:
        expr.when(f"{assignee} = {expr.value(before.assignee)}")


def _inbox(expr: Expr, phone_number_id: str, *, waiting: bool, at: float) -> Expr:
    """Put the conversation in (or move it within) the inbox index, active at ``at``."""
    expr.set("gsi2pk", inbox_pk(phone_number_id)).set("gsi2sk", inbox_sk(waiting, at))
    return expr.set("last_activity_at", at)


def assign(
    phone_number_id: str,
    wa_id: str,
    *,
    agent: str,
    at: float,
    expect: Conversation,
    within_limit: bool = False,
) -> bool:
    """Give the conversation to ``agent`` (state ``assigned``), conditional on the
    state and assignee still being those of ``expect``; the agent's open count goes up
    (and a previous assignee's down) in the same transaction. ``within_limit``: only
    if the agent is available and below their limit (automatic assignment). False
    when a condition failed (the caller reads again)."""
    from wacloud.store import agents

    expr = Expr()
    _same_hands(expr, expect)
    expr.set("state", ASSIGNED).set("assignee", agent).set("assigned_at", at)
    if expect.handoff_at is None or expect.state not in WITH_A_PERSON:
        expr.set("handoff_at", at).set("handoff_reason", "operator")
    expr.remove("handoff_until")
    _inbox(expr, phone_number_id, waiting=False, at=at)
    _identity(expr, phone_number_id, wa_id, at)
    writes = [_update_request(conversation_pk(phone_number_id, wa_id), SK, expr)]
    writes.append(agents.open_delta_request(agent, +1, at=at, within_limit=within_limit))
    if expect.assignee and expect.state == ASSIGNED and expect.assignee != agent:
        writes.append(agents.open_delta_request(expect.assignee, -1))
    elif expect.assignee == agent and expect.state == ASSIGNED:
        writes.pop()  # already theirs: the count stays
    return transact(writes)


def touch(
    phone_number_id: str,
    wa_id: str,
    conversation: Conversation,
    *,
    at: float,
    agent_reply: bool = False,
) -> bool:
    """Note activity (a customer message, an agent's reply) on a conversation; it
    enters the inbox if it was not there. Conditional on the state read in
    ``conversation`` (a transition in between keeps its own keys).

    An agent's first reply since the last handoff is kept (``first_reply_at``) in the
    same write: the first-response time analytics reads from the change stream."""
    expr = Expr()
    _same_hands(expr, conversation)
    handoff_at = conversation.handoff_at
    if (
        agent_reply
        and handoff_at is not None
        and (conversation.first_reply_at is None or conversation.first_reply_at < handoff_at)
    ):
        expr.set("first_reply_at", at)
    if agent_reply:
        expr.remove("suggestion")  # answered: the assistant's draft is spent
    _inbox(expr, phone_number_id, waiting=conversation.waiting(at), at=at)
    return conditional_update(
        conversation_pk(phone_number_id, wa_id),
        SK,
        _identity(expr, phone_number_id, wa_id, at),
    )


def set_labels(
    phone_number_id: str, wa_id: str, *, add: list[str], remove: list[str], at: float
) -> tuple[str, ...]:
    """Add and remove labels (the conversation enters the inbox); the labels after."""
    for _ in range(5):
        before = load(phone_number_id, wa_id)
        labels = sorted((set(before.labels) | set(add)) - set(remove))
        expr = Expr()
        name = expr.name("labels")
        if before.labels:
            expr.when(f"{name} = {expr.value(list(before.labels))}")
        else:
            expr.when(f"attribute_not_exists({name})")
        if labels:
            expr.set("labels", labels)
        else:
            expr.remove("labels")
        if not before.in_inbox:
            _inbox(expr, phone_number_id, waiting=before.waiting(at), at=at)
        if conditional_update(
            conversation_pk(phone_number_id, wa_id),
            SK,
            _identity(expr, phone_number_id, wa_id, at),
        ):
            return tuple(labels)
    raise ConflictError("the labels kept changing; try again")


def set_suggestion(
    phone_number_id: str,
    wa_id: str,
    *,
    text: str,
    confidence: float,
    handoff_at: float,
    at: float,
) -> bool:
    """Keep the assistant's draft answer on the handoff that began at ``handoff_at``
    (conditional on it, and on a person still having it: a draft arriving after the
    agent answered, released or resolved is dropped). True if stored."""
    expr = Expr()
    expr.when(f"{expr.name('handoff_at')} = {expr.value(handoff_at)}")
    state = expr.name("state")
    expr.when(f"{state} IN ({expr.value(HANDOFF)}, {expr.value(ASSIGNED)})")
    expr.when(
        f"attribute_not_exists({expr.name('first_reply_at')}) OR "
        f"{expr.name('first_reply_at')} < {expr.value(handoff_at)}"
    )
    expr.set("suggestion", {"text": text, "confidence": confidence, "at": at})
    return conditional_update(conversation_pk(phone_number_id, wa_id), SK, expr)


def note_survey(phone_number_id: str, wa_id: str, *, message_id: str, at: float) -> bool:
    """Remember the survey sent on resolve (its answer must reply to this message)."""
    expr = Expr().set("survey_message_id", message_id).set("survey_sent_at", at)
    return conditional_update(conversation_pk(phone_number_id, wa_id), SK, expr)


def record_survey_answer(
    phone_number_id: str, wa_id: str, *, message_id: str, answer: str, at: float
) -> bool:
    """Keep the customer's answer to the survey ``message_id``; the first answer only."""
    expr = Expr()
    expr.when(f"{expr.name('survey_message_id')} = {expr.value(message_id)}")
    expr.when(f"attribute_not_exists({expr.name('survey_answer')})")
    expr.set("survey_answer", answer).set("survey_answered_at", at)
    return conditional_update(conversation_pk(phone_number_id, wa_id), SK, expr)


@dataclass(frozen=True, slots=True)
class InboxFilter:
    state: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    """Nobody has it and it is not resolved: what an agent may pick up."""
    label: str | None = None
    since: float | None = None
    until: float | None = None


def _encode_cursor(key: dict[str, Any]) -> str:
    raw = json.dumps(unmarshal(key), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, partition: tuple[str, str]) -> dict[str, Any]:
    """A cursor back to an ExclusiveStartKey; InputError if it is not one of ours for
    ``partition`` (its key attribute and value)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError:
        raise InputError("cursor: not a cursor this API gave") from None
    attr, value = partition
    if (
        not isinstance(key, dict)
        or key.get(attr) != value
        or not all(isinstance(v, str) for v in key.values())
        or not {"pk", "sk"} <= set(key)
        or len(key) > 4
    ):
        raise InputError("cursor: not a cursor this API gave")
    return marshal(key)


def _query_page(
    request: dict[str, Any],
    *,
    limit: int,
    start: dict[str, Any] | None,
    key_names: tuple[str, str, str, str],
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` items matching the request's filter, following pages; the
    cursor of the next page (None at the end)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table(), **request}
    if start:
        kwargs["ExclusiveStartKey"] = start
    while True:
        kwargs["Limit"] = max(limit - len(found), 1) if "FilterExpression" not in kwargs else 100
        response = dynamodb().query(**kwargs)
        raw_items = response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        for index, raw in enumerate(raw_items):
            found.append(unmarshal(raw))
            if len(found) == limit:
                more = index + 1 < len(raw_items) or bool(last)
                if not more:
                    return found, None
                return found, _encode_cursor({k: raw[k] for k in key_names if k in raw})
        if not last:
            return found, None
        kwargs["ExclusiveStartKey"] = last


def list_inbox(
    phone_number_id: str,
    filters: InboxFilter,
    *,
    limit: int,
    cursor: str | None,
    at: float,
) -> tuple[list[Conversation], str | None]:
    """A page of the number's inbox: waiting first, then by last activity, newest first."""
    pk = inbox_pk(phone_number_id)
    expr = Expr()
    expr.key_condition(f"{expr.name('gsi2pk')} = {expr.value(pk)}")
    if filters.state == BOT:
        state, until_name = expr.name("state"), expr.name("handoff_until")
        handoff = expr.value(HANDOFF)
        expr.filter(
            f"attribute_not_exists({state}) OR {state} = {expr.value(BOT)}"
            f" OR ({state} = {handoff} AND {until_name} <= {expr.value(at)})"
        )
    elif filters.state == HANDOFF:
        state, until_name = expr.name("state"), expr.name("handoff_until")
        expr.filter(f"{state} = {expr.value(HANDOFF)} AND {until_name} > {expr.value(at)}")
    elif filters.state is not None:
        expr.filter(f"{expr.name('state')} = {expr.value(filters.state)}")
    if filters.assignee is not None:
        expr.filter(f"{expr.name('assignee')} = {expr.value(filters.assignee)}")
    if filters.unassigned:
        expr.filter(
            f"attribute_not_exists({expr.name('assignee')})"
            f" AND {expr.name('state')} <> {expr.value(RESOLVED)}"
        )
    if filters.label is not None:
        expr.filter(f"contains({expr.name('labels')}, {expr.value(filters.label)})")
    if filters.since is not None:
        expr.filter(f"{expr.name('last_activity_at')} >= {expr.value(filters.since)}")
    if filters.until is not None:
        expr.filter(f"{expr.name('last_activity_at')} < {expr.value(filters.until)}")
    request: dict[str, Any] = {**expr.params(), "IndexName": INBOX_INDEX, "ScanIndexForward": False}
    start = decode_cursor(cursor, partition=("gsi2pk", pk)) if cursor else None
    found, next_cursor = _query_page(
        request, limit=limit, start=start, key_names=("pk", "sk", "gsi2pk", "gsi2sk")
    )
    return [Conversation.from_item(phone_number_id, str(i["wa_id"]), i) for i in found], next_cursor


def thread(
    phone_number_id: str, wa_id: str, *, limit: int, before: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the messages both ways (index gsi1), newest first; the next cursor."""
    from wacloud.store.contacts import contact_pk

    pk = contact_pk(phone_number_id, wa_id)
    expr = Expr()
    expr.key_condition(f"{expr.name('gsi1pk')} = {expr.value(pk)}")
    request: dict[str, Any] = {**expr.params(), "IndexName": "gsi1", "ScanIndexForward": False}
    start = decode_cursor(before, partition=("gsi1pk", pk)) if before else None
    return _query_page(
        request, limit=limit, start=start, key_names=("pk", "sk", "gsi1pk", "gsi1sk")
    )


def _update_request(pk: str, sk: str, expr: Expr) -> dict[str, Any]:
    return {"Update": {"TableName": table(), "Key": key(pk, sk), **expr.params()}}


def transact(writes: list[dict[str, Any]]) -> bool:
    """One TransactWriteItems; False when a condition failed (other errors raise)."""
    try:
        dynamodb().transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def add_tokens(phone_number_id: str, wa_id: str, n: int) -> int:
    """Add ``n`` model tokens to the conversation's count; the new total."""
    expr = Expr().add("tokens", int(n))
    expr.set_fields({"phone_number_id": phone_number_id, "wa_id": wa_id})
    written = update(conversation_pk(phone_number_id, wa_id), SK, expr, returns="UPDATED_NEW")
    return int(written.attributes.get("tokens") or 0)


def set_summary(phone_number_id: str, wa_id: str, *, summary: str, upto: str, at: float) -> bool:
    """Store the running summary covering the turns up to ``upto`` (the gsi1 sort key
    of the last turn it covers); only moves forward
    (a slower, older summary never replaces a newer one). True if stored."""
    expr = Expr()
    upto_name = expr.name("summary_upto")
    expr.when(f"attribute_not_exists({upto_name}) OR {upto_name} < {expr.value(upto)}")
    expr.set("summary", summary).set("summary_upto", upto)
    return conditional_update(
        conversation_pk(phone_number_id, wa_id), SK, _identity(expr, phone_number_id, wa_id, at)
    )
