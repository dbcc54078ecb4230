"""``value.statuses[]``: delivery receipts for our messages, and call statuses
(docs/meta/webhooks.md#statuses, docs/meta/calling.md).

Statuses are the bulk of webhook traffic (Meta sizes for 3x the outbound rate) and
arrive duplicated and, as far as anyone can tell, unordered (docs/meta/webhooks.md#delivery:
"delivered" is skipped when delivery and read coincide). Which status may replace which is
the message state machine's rule, owned by ``wacloud.store.messages`` (``RANK``): these
models only describe what Meta sent.
"""

from enum import StrEnum

from wacloud.models.webhook.common import TolerantModel, WaError, known
from wacloud.models.webhook.keys import to_int


class StatusValue(StrEnum):
    """Message statuses documented by Meta; ``played`` is in the 2026 reference."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"


class CallStatusValue(StrEnum):
    """Call statuses seen on ``statuses[]`` with ``type:"call"``.

    Only ``RINGING`` is confirmed (docs/meta/calling.md); anything else parses and is flagged
    unknown.
    """

    RINGING = "RINGING"


class ConversationOrigin(TolerantModel):
    """``conversation.origin``; ``type`` is e.g. service, marketing, referral_conversion."""

    type: str | None = None


class Conversation(TolerantModel):
    """``statuses[].conversation`` (present up to v23; from v24 only in a free entry point).

    ``expiration_timestamp`` is a string and only on ``sent``.
    """

    id: str | None = None
    expiration_timestamp: str | None = None
    origin: ConversationOrigin | None = None


class Pricing(TolerantModel):
    """``statuses[].pricing``, on ``sent`` and on one of ``delivered``/``read``
    (docs/meta/webhooks.md#statuses, docs/meta/messages.md#customer-service-window).

    ``pricing_model`` is ``CBP`` (before 2025-07-01) or ``PMP``; ``type`` is
    ``regular`` | ``free_customer_service`` | ``free_entry_point`` (+ group variants).
    ``billable`` is slated for deprecation, hence optional.
    """

    billable: bool | None = None
    pricing_model: str | None = None
    type: str | None = None
    category: str | None = None


class MessageStatus(TolerantModel):
    """One element of ``value.statuses[]``.

    ``id`` is a wamid for messages or a wacid for calls (``type == "call"``).
    ``status`` stays a raw string; see :attr:`known_status`.
    """

    id: str
    status: str
    timestamp: str | None = None
    recipient_id: str | None = None
    type: str | None = None
    biz_opaque_callback_data: str | None = None
    conversation: Conversation | None = None
    pricing: Pricing | None = None
    errors: list[WaError] | None = None
    recipient_type: str | None = None
    recipient_participant_id: str | None = None
    recipient_identity_key_hash: str | None = None

    @property
    def is_call(self) -> bool:
        """True for a call status (``type:"call"``), which has its own vocabulary."""
        return self.type == "call"

    @property
    def known_status(self) -> StatusValue | CallStatusValue | None:
        """The status as an enum member, or ``None`` when Meta sent a new value."""
        if self.is_call:
            return known(CallStatusValue, self.status)
        return known(StatusValue, self.status)

    @property
    def is_unknown_status(self) -> bool:
        """True for a status value outside the documented set; store and flag it."""
        return self.known_status is None

    @property
    def sent_at(self) -> int | None:
        """``timestamp`` as Unix seconds."""
        return to_int(self.timestamp)

    @property
    def is_free_entry_point(self) -> bool:
        """True when Meta says this message rides a free entry point (72 h free window)."""
        if self.pricing is not None and self.pricing.type == "free_entry_point":
            return True
        origin = self.conversation.origin if self.conversation else None
        return origin is not None and origin.type == "referral_conversion"
