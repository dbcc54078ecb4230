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
* ``assignee``         -- the person answering (none until the operator API exists)

The item expires with the messages it summarises (MESSAGE_RETENTION_DAYS, pushed back
by every write).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wacloud.infra.dynamo import Expr, conditional_update, get, update
from wacloud.infra.retention import message_expiry

BOT = "bot"
HANDOFF = "handoff"
SK = "#"


def conversation_pk(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}#CONV#{wa_id}"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


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

    def in_handoff(self, at: float) -> bool:
        """True while a person has the conversation: handed over and not yet timed out."""
        return self.state == HANDOFF and (self.handoff_until is None or at < self.handoff_until)

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
        }
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
    expr.when(
        f"attribute_not_exists({state}) OR {state} <> {expr.value(HANDOFF)}"
        f" OR {until_name} <= {expr.value(at)}"
    )
    expr.set("state", HANDOFF).set("handoff_reason", reason).set("handoff_at", at)
    expr.set("handoff_until", until)
    expr.set_fields({"handoff_wamid": wamid, "handoff_language": language})
    removed = [
        name
        for name, value in (("handoff_wamid", wamid), ("handoff_language", language))
        if value is None
    ]
    expr.remove("notified_at", *removed)
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
    """Give the conversation back to the bot; True if it was in handoff (even one that
    had timed out), False if the bot had it already."""
    expr = Expr()
    expr.when(f"{expr.name('state')} = {expr.value(HANDOFF)}")
    expr.set("state", BOT).set("released_at", at).set("released_by", by)
    expr.remove("handoff_until", "assignee")
    return conditional_update(
        conversation_pk(phone_number_id, wa_id), SK, _identity(expr, phone_number_id, wa_id, at)
    )


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
