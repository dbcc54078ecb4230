"""Facts: what happened, derived once from the state table's change stream.

The state table is the record of everything (wacloud.store). Its DynamoDB stream
carries each change once, in order per item; ``wacloud.store.changes`` turns the
changes that mean something to a business into the facts below. One derivation feeds
three consumers in the Facts function (wacloud.facts): the daily aggregates
(wacloud.analytics), the event lake in S3 (wacloud.lake) and the events business
apps subscribe to on the stack's bus (wacloud.events_out). Deriving them from the
stream, not in the hot paths, keeps the inbound processor and the sender at the AWS
calls they make today, and a fact can only exist if its state change was written.

``Fact.id`` is deterministic (the same change gives the same id), so a stream batch
delivered twice produces the same ids: the aggregates count an id once, the lake's
readers and the bus's subscribers can deduplicate on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

# The funnel steps a message can reach, in order (docs/analytics.md). `played` is a
# voice message's, after `read`.
FUNNEL_STEPS = ("sent", "delivered", "read", "played")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    """Common to every fact."""

    TYPE: ClassVar[str] = ""

    #: Deterministic: the same state change always yields the same id.
    id: str
    #: The business phone number (Meta's phone_number_id), or the WABA id for WABA facts.
    phone_number_id: str
    #: When it happened (epoch seconds): Meta's timestamp where there is one.
    at: float

    @property
    def type(self) -> str:
        return self.TYPE

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the fact's fields plus its ``type``."""
        return {"type": self.TYPE, **asdict(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived(Fact):
    """A customer's message, recorded (an inbound record inserted)."""

    TYPE: ClassVar[str] = "message.received"

    wamid: str
    wa_id: str
    message_type: str
    #: The wamid it replies to (context.id), if any: a reply to one of our messages.
    context_wamid: str | None = None
    #: Our message id for ``context_wamid`` when it was ours (campaign reply counting).
    context_message_id: str | None = None
    campaign_id: str | None = None
    #: It came from a Click-to-WhatsApp ad or a Page CTA (a free entry point).
    referral: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStatusChanged(Fact):
    """One of our outbound messages moved state (its record's state changed), or Meta's
    pricing for it arrived. ``crossed`` lists the FUNNEL_STEPS newly reached by this
    change (``sent -> read`` crosses delivered and read): states only move forward
    (store/messages.py), so every step of a message is crossed exactly once."""

    TYPE: ClassVar[str] = "message.status_changed"

    message_id: str
    wamid: str | None
    wa_id: str
    previous: str | None
    status: str
    crossed: tuple[str, ...] = ()
    message_type: str | None = None
    template_name: str | None = None
    template_language: str | None = None
    campaign_id: str | None = None
    variant: str | None = None
    #: Meta's error codes when the message failed.
    error_codes: tuple[int, ...] = ()
    #: Meta's pricing object, set on the one change that first carried it.
    pricing_category: str | None = None
    pricing_type: str | None = None
    pricing_model: str | None = None
    billable: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantAnswered(Fact):
    """The assistant's answer to a customer message went out (its first part reached
    `sent`). ``response_seconds`` runs from the customer's message to then: the
    assistant's first-response time (filled by the Facts function, which reads when
    the customer's message arrived)."""

    TYPE: ClassVar[str] = "assistant.answered"

    wa_id: str
    message_id: str
    #: The customer's message it answers.
    answered_wamid: str
    response_seconds: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationOpened(Fact):
    """A customer's message opened their customer service window (none was open): a
    conversation in the sense of Meta's windows. ``origin`` is ``free_entry_point``
    when it came from a Click-to-WhatsApp ad or a Page CTA, ``customer`` otherwise."""

    TYPE: ClassVar[str] = "conversation.opened"

    wa_id: str
    origin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationHandoffRequested(Fact):
    TYPE: ClassVar[str] = "conversation.handoff_requested"

    wa_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationResolved(Fact):
    """A conversation closed: by the assistant (no person involved) or by an agent."""

    TYPE: ClassVar[str] = "conversation.resolved"

    wa_id: str
    #: "assistant" or "agent".
    resolved_by: str
    agent: str | None = None
    handed_off: bool = False
    #: From the customer's first waiting message to the first answer (seconds).
    first_response_seconds: float | None = None
    #: From the conversation's start (or handoff) to resolution (seconds).
    resolution_seconds: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyAnswered(Fact):
    TYPE: ClassVar[str] = "conversation.survey_answered"

    wa_id: str
    #: "good", "ok" or "bad".
    score: str
    agent: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignCompleted(Fact):
    TYPE: ClassVar[str] = "campaign.completed"

    campaign_id: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateStatusChanged(Fact):
    """A template's status or quality changed (the template mirror's record)."""

    TYPE: ClassVar[str] = "template.status_changed"

    waba_id: str
    template_name: str
    language: str
    previous: str | None
    status: str
    quality: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactOptedOut(Fact):
    TYPE: ClassVar[str] = "contact.opted_out"

    wa_id: str


ANY_FACT = (
    MessageReceived,
    MessageStatusChanged,
    AssistantAnswered,
    ConversationOpened,
    ConversationHandoffRequested,
    ConversationResolved,
    SurveyAnswered,
    CampaignCompleted,
    TemplateStatusChanged,
    ContactOptedOut,
)
