"""Handing a conversation to a person, and back.

`request_handoff` enters handoff (conditionally: once, however many deliveries or
callers ask) and tells the operators at once on their topic. A delivery that dies
between the two is finished by the next delivery of the same message (``wamid``): the
state says whether the operators were told (`notified_at`). The business's apps learn
of it as `conversation.handoff_requested` on the bus, from the state table's change
stream (wacloud.events_out): the conditional write makes one change, so one event,
with an id to deduplicate a redelivery on; put from here, a retry after a failure
between the put and `notified_at` put it twice (docs/events.md, "Why from the
stream"). The bot stays silent while `in_handoff`: until
`release`, or until the tenant's timeout passes (`handoff_until`). With the tenant's
inbox setting ``auto_assign`` an agent is picked at once (wacloud.conversations.inbox).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from wacloud.conversations.events import HANDOFF_REQUESTED, RELEASED, publish, tell_operators
from wacloud.conversations.settings import HandoffSettings, load_handoff_settings
from wacloud.infra.clock import iso, now
from wacloud.infra.privacy import mask_phone
from wacloud.store import conversations as store

logger = Logger(child=True)

#: Why a conversation is handed to a person.
HANDOFF_REASONS = frozenset(
    {
        "keyword",  # the customer wrote a handoff keyword
        "human_request",  # the assistant read that intent
        "low_confidence",  # the assistant was not sure enough of its answer
        "complaint",  # the assistant read a complaint
        "assistant_error",  # the model failed (errors, timeouts): a fallback was sent
        "budget_exhausted",  # the tenant's monthly token budget is spent
        "menu",  # the menu's "Talk to a person"
        "operator",  # a person took it over by hand
    }
)


def in_handoff(phone_number_id: str, wa_id: str, *, at: float) -> bool:
    """True while a person has the conversation (False once `handoff_until` passed)."""
    return store.load(phone_number_id, wa_id).in_handoff(at)


def request_handoff(
    phone_number_id: str,
    wa_id: str,
    *,
    reason: str,
    at: float,
    language: str | None = None,
    wamid: str | None = None,
    settings: HandoffSettings | None = None,
) -> bool:
    """Hand the conversation to a person; True if this request did.

    False when a person has it already (another message or caller got there first).
    With ``wamid`` (the customer message that asks), a second delivery of that same
    message is the same request: True again, and it publishes the events if the
    first delivery could not. The customer's notice is the caller's to send (with an
    idempotency key per message, so it goes once).
    """
    if reason not in HANDOFF_REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    cfg = settings or load_handoff_settings(phone_number_id)
    until = at + cfg.timeout_seconds
    entered = store.enter_handoff(
        phone_number_id,
        wa_id,
        reason=reason,
        at=at,
        until=until,
        wamid=wamid,
        language=language,
    )
    if entered:
        conversation = store.Conversation(
            phone_number_id,
            wa_id,
            state=store.HANDOFF,
            handoff_reason=reason,
            handoff_at=at,
            handoff_until=until,
            handoff_wamid=wamid,
            handoff_language=language,
        )
    else:
        conversation = store.load(phone_number_id, wa_id)
        same = wamid is not None and conversation.handoff_wamid == wamid
        if not (same and conversation.in_handoff(at)):
            return False
    logger.info(
        "conversation handed to a person",
        extra={"to": mask_phone(wa_id), "reason": conversation.handoff_reason, "new": entered},
    )
    if conversation.notified_at is None:
        _notify(conversation)
    if conversation.state == store.HANDOFF and conversation.assignee is None:
        from wacloud.conversations.inbox import auto_assign_if_on

        auto_assign_if_on(phone_number_id, wa_id, at=at)
    return True


def _notify(conversation: store.Conversation) -> None:
    assert conversation.handoff_at is not None
    tell_operators(HANDOFF_REQUESTED, _detail(conversation))
    store.mark_notified(
        conversation.phone_number_id,
        conversation.wa_id,
        handoff_at=conversation.handoff_at,
        at=now(),
    )


def _detail(conversation: store.Conversation) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "phone_number_id": conversation.phone_number_id,
        "wa_id": conversation.wa_id,
        "reason": conversation.handoff_reason,
        "at": iso(conversation.handoff_at),
        "until": iso(conversation.handoff_until),
        "language": conversation.handoff_language,
        "wamid": conversation.handoff_wamid,
    }
    return {k: v for k, v in detail.items() if v is not None}


def release(phone_number_id: str, wa_id: str, *, by: str, at: float) -> bool:
    """Give the conversation back to the bot (``by``: who, e.g. an operator's id).

    True if it was with a person (waiting or assigned to an agent, whose open count
    goes down); publishes `conversation.released` on the bus then.
    """
    released = store.release(phone_number_id, wa_id, by=by, at=at)
    if released:
        publish(
            RELEASED,
            {
                "phone_number_id": phone_number_id,
                "wa_id": wa_id,
                "by": by,
                "at": iso(at),
            },
        )
        logger.info("conversation released to the bot", extra={"to": mask_phone(wa_id)})
    return released
