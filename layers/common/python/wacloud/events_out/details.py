"""What a business app receives: each public fact as an EventBridge entry.

The detail of an event is a public contract (docs/events.md, schema/events/), so each
event type lists the fact fields it publishes: a field added to a fact for the
aggregates is not published until it is added here on purpose, and a field published
here must exist on the fact (tests/unit/test_events_out.py). Details carry ids and
states and the customer's ``wa_id`` (the business's systems need to know who), never
what anyone wrote: no fact holds message text, and none may be listed here.

Every detail starts with the same envelope: ``version`` (1; a field removed or changed
in meaning bumps it, a field added does not), ``id`` (the fact's deterministic id,
for subscribers to deduplicate a redelivery on), ``phone_number_id`` and ``at`` (the
fact's time, ISO-8601 UTC with milliseconds, as the conversation events always had).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wacloud.infra.clock import iso
from wacloud.models.facts import (
    CampaignCompleted,
    ContactOptedOut,
    ConversationHandoffRequested,
    ConversationResolved,
    Fact,
    MessageReceived,
    MessageStatusChanged,
    SurveyAnswered,
    TemplateStatusChanged,
)

#: EventBridge ``source`` of every event wacloud puts on the stack's bus (the direct
#: conversation events of wacloud.conversations use the same). It has no dot, so no
#: BusinessEventSourcePrefix (which must end with one) can make it start a workflow.
SOURCE = "wacloud"
DETAIL_VERSION = 1
ENVELOPE = ("version", "id", "phone_number_id", "at")


@dataclass(frozen=True)
class PublicEvent:
    """One public event type: the fact it comes from, what it means, what it carries."""

    fact: type[Fact]
    #: When it is emitted: the state change it reports (docs and schema description).
    when: str
    #: The fact's fields in the detail, after the envelope, in this order.
    fields: tuple[str, ...]

    @property
    def type(self) -> str:
        return self.fact.TYPE


PUBLIC: dict[str, PublicEvent] = {
    e.type: e
    for e in (
        PublicEvent(
            MessageReceived,
            "A customer's message was recorded (once per wamid, however often Meta "
            "delivers the webhook).",
            (
                "wamid",
                "wa_id",
                "message_type",
                "context_wamid",
                "context_message_id",
                "campaign_id",
                "referral",
            ),
        ),
        PublicEvent(
            MessageStatusChanged,
            "One of our messages moved forward (sent, delivered, read, played, failed), "
            "or Meta's pricing for it arrived; a repeated or late status changes nothing "
            "and emits nothing.",
            (
                "message_id",
                "wamid",
                "wa_id",
                "previous",
                "status",
                "crossed",
                "message_type",
                "template_name",
                "template_language",
                "campaign_id",
                "variant",
                "error_codes",
                "pricing_category",
                "pricing_type",
                "pricing_model",
                "billable",
            ),
        ),
        PublicEvent(
            ConversationHandoffRequested,
            "A conversation entered handoff: a customer waits for a person.",
            ("wa_id", "reason"),
        ),
        PublicEvent(
            ConversationResolved,
            "A conversation was resolved, by an agent or by the assistant alone.",
            (
                "wa_id",
                "resolved_by",
                "agent",
                "handed_off",
                "first_response_seconds",
                "resolution_seconds",
            ),
        ),
        PublicEvent(
            SurveyAnswered,
            "A customer answered the satisfaction survey sent when their conversation "
            "was resolved.",
            ("wa_id", "score", "agent"),
        ),
        PublicEvent(
            CampaignCompleted,
            "A campaign finished: every recipient was sent to, skipped or failed.",
            ("campaign_id", "counts"),
        ),
        PublicEvent(
            TemplateStatusChanged,
            "Meta changed a template's status or quality (approved, rejected, paused, "
            "disabled, ...); ``phone_number_id`` is the WABA id here.",
            ("waba_id", "template_name", "language", "previous", "status", "quality", "reason"),
        ),
        PublicEvent(
            ContactOptedOut,
            "A customer opted out of marketing messages.",
            ("wa_id",),
        ),
    )
}


def detail_of(fact: Fact) -> dict[str, Any] | None:
    """The fact's public detail (None for a fact that is not published)."""
    event = PUBLIC.get(fact.TYPE)
    if event is None:
        return None
    detail: dict[str, Any] = {
        "version": DETAIL_VERSION,
        "id": fact.id,
        "phone_number_id": fact.phone_number_id,
        "at": iso(fact.at),
    }
    for name in event.fields:
        value = getattr(fact, name)
        detail[name] = list(value) if isinstance(value, tuple) else value
    return detail


def entry_of(fact: Fact, bus: str) -> dict[str, Any] | None:
    """The PutEvents entry for the fact on ``bus`` (None if it is not published)."""
    detail = detail_of(fact)
    if detail is None:
        return None
    return {
        "Source": SOURCE,
        "DetailType": fact.TYPE,
        "Detail": json.dumps(detail, separators=(",", ":"), sort_keys=False),
        "Time": datetime.fromtimestamp(fact.at, tz=UTC),
        "EventBusName": bus,
    }
