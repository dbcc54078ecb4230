"""Values of the non-``messages`` webhook fields (docs/meta/webhooks.md#other-fields,
docs/meta/calling.md).

Each model declares only what a source shows; ``extra="allow"`` keeps the rest, so a
new key Meta adds is carried along untouched. A field we have no model for stays a
plain dict in :class:`~wacloud.models.webhook.updates.FieldUpdate`.
"""

from enum import StrEnum
from typing import Any

from pydantic import Field

from wacloud.models.webhook.common import TolerantModel, known
from wacloud.models.webhook.keys import to_int


class WebhookField(StrEnum):
    """``entry[].changes[].field`` values this package understands."""

    MESSAGES = "messages"
    MESSAGE_TEMPLATE_STATUS_UPDATE = "message_template_status_update"
    MESSAGE_TEMPLATE_QUALITY_UPDATE = "message_template_quality_update"
    TEMPLATE_CATEGORY_UPDATE = "template_category_update"
    PHONE_NUMBER_QUALITY_UPDATE = "phone_number_quality_update"
    PHONE_NUMBER_NAME_UPDATE = "phone_number_name_update"
    ACCOUNT_UPDATE = "account_update"
    USER_PREFERENCES = "user_preferences"
    CALLS = "calls"
    FLOWS = "flows"
    BUSINESS_CAPABILITY_UPDATE = "business_capability_update"


# --- WABA-level fields (no metadata; tenant is entry.id) ---------------------------


class TemplateEvent(StrEnum):
    """``message_template_status_update.event`` values listed by Meta
    (docs/meta/webhooks.md#other-fields)."""

    APPROVED = "APPROVED"
    ARCHIVED = "ARCHIVED"
    UNARCHIVED = "UNARCHIVED"
    DELETED = "DELETED"
    DISABLED = "DISABLED"
    FLAGGED = "FLAGGED"
    IN_APPEAL = "IN_APPEAL"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    LOCKED = "LOCKED"
    PAUSED = "PAUSED"
    PENDING = "PENDING"
    REINSTATED = "REINSTATED"
    PENDING_DELETION = "PENDING_DELETION"
    REJECTED = "REJECTED"


class RejectionInfo(TolerantModel):
    """Why a template was rejected and what to change."""

    reason: str | None = None
    recommendation: str | None = None


class OtherInfo(TolerantModel):
    """Free-text explanation attached to some template events."""

    title: str | None = None
    description: str | None = None


class TemplateStatusUpdate(TolerantModel):
    """``message_template_status_update``: approval lifecycle of a template.

    ``event`` (APPROVED, REJECTED, PAUSED, ...) and ``reason`` stay raw strings;
    ``reason`` can be null. ``message_template_id`` is an integer on the wire.
    """

    event: str | None = None
    message_template_id: int | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    reason: str | None = None
    message_template_category: str | None = None
    disable_info: dict[str, Any] | None = None
    other_info: OtherInfo | None = None
    rejection_info: RejectionInfo | None = None

    @property
    def known_event(self) -> TemplateEvent | None:
        """The event as an enum member, or ``None`` for one Meta added later."""
        return known(TemplateEvent, self.event)


class TemplateQualityUpdate(TolerantModel):
    """``message_template_quality_update``: template quality score moved."""

    previous_quality_score: str | None = None
    new_quality_score: str | None = None
    message_template_id: int | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None


class TemplateCategoryUpdate(TolerantModel):
    """``template_category_update``: Meta re-categorised a template (affects price)."""

    message_template_id: int | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    new_category: str | None = None


class PhoneNumberQualityUpdate(TolerantModel):
    """``phone_number_quality_update``: messaging-limit / throughput change.

    The ``event`` enum is not confirmed (docs/meta/webhooks.md#other-fields); ``current_limit`` was
    removed in Feb
    2026. Limits are strings such as ``TIER_2K`` or ``TIER_UNLIMITED``.
    """

    display_phone_number: str | None = None
    event: str | None = None
    old_limit: str | None = None
    current_limit: str | None = None
    max_daily_conversations_per_business: str | None = None


class PhoneNumberNameUpdate(TolerantModel):
    """``phone_number_name_update``: display-name review outcome.

    Shape from M:webhooks/reference/phone_number_name_update (not in docs/meta's table; the field
    itself is in its field list).
    """

    display_phone_number: str | None = None
    decision: str | None = None  # APPROVED | DEFERRED | PENDING | REJECTED (Meta page)
    requested_verified_name: str | None = None
    rejection_reason: str | None = None


class RestrictionInfo(TolerantModel):
    """One restriction of an ``ACCOUNT_RESTRICTION`` event."""

    restriction_type: str | None = None
    expiration: int | None = None


class VolumeTierInfo(TolerantModel):
    """``VOLUME_BASED_PRICING_TIER_UPDATE`` payload (since 2025-10-01,
    docs/meta/messages.md#customer-service-window)."""

    tier_update_time: int | None = None
    pricing_category: str | None = None
    tier: str | None = None
    effective_month: str | None = None
    region: str | None = None


class AccountUpdate(TolerantModel):
    """``account_update``: WABA lifecycle (deleted, restricted, violation, pricing tier...).

    Event-specific payloads not modelled here (``waba_info``, ``ban_info`` ...) stay
    available as extra attributes.
    """

    event: str | None = None
    restriction_info: list[RestrictionInfo] | None = None
    violation_info: dict[str, Any] | None = None
    volume_tier_info: VolumeTierInfo | None = None


class BusinessCapabilityUpdate(TolerantModel):
    """``business_capability_update``: portfolio limits changed (-1 means unlimited).

    ``max_daily_conversation_per_phone`` is the <=v23 key (removed Feb 2026);
    ``max_daily_conversations_per_business`` the v24+ one.
    """

    max_daily_conversation_per_phone: int | str | None = None
    max_daily_conversations_per_business: int | str | None = None
    max_phone_numbers_per_business: int | str | None = None
    max_phone_numbers_per_waba: int | str | None = None


class FlowsUpdate(TolerantModel):
    """``flows``: Flow status change / endpoint health.

    Event names are NOT CONFIRMED (docs/meta/webhooks.md#other-fields); the keys below are the ones
    a third-party source shows. Everything else is kept as extra attributes.
    """

    flow_id: str | None = None
    old_status: str | None = None
    new_status: str | None = None


# --- per-number list items ---------------------------------------------------------


class UserPreference(TolerantModel):
    """One ``value.user_preferences[]`` item: marketing stop/resume
    (docs/meta/webhooks.md#other-fields).

    ``timestamp`` is an integer here, unlike message timestamps.
    """

    wa_id: str | None = None
    detail: str | None = None
    category: str | None = None  # "marketing_messages"
    value: str | None = None  # "stop" | "resume"
    timestamp: int | None = None

    @property
    def is_marketing_stop(self) -> bool:
        """True when the user opted out of marketing messages (sends then fail 131050)."""
        return self.category == "marketing_messages" and self.value == "stop"

    @property
    def is_marketing_resume(self) -> bool:
        """True when the user opted back in to marketing messages."""
        return self.category == "marketing_messages" and self.value == "resume"


class CallSession(TolerantModel):
    """WebRTC SDP of a call ``connect`` event."""

    sdp: str | None = None
    sdp_type: str | None = None  # "offer" | "answer"


class CallEvent(TolerantModel):
    """One ``value.calls[]`` item: ``connect`` or ``terminate`` (docs/meta/calling.md).

    Timestamps are strings; ``duration`` is an integer (seconds).
    """

    id: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    event: str | None = None
    timestamp: str | None = None
    direction: str | None = None  # USER_INITIATED | BUSINESS_INITIATED
    session: CallSession | None = None
    status: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration: int | None = None
    biz_opaque_callback_data: str | None = None

    @property
    def is_user_initiated(self) -> bool:
        """True for a call the user placed (it opens the customer service window)."""
        return self.direction == "USER_INITIATED"

    @property
    def user_id(self) -> str | None:
        """The WhatsApp user's side of the call."""
        return self.from_ if self.is_user_initiated else self.to

    @property
    def sent_at(self) -> int | None:
        """``timestamp`` as Unix seconds."""
        return to_int(self.timestamp)


#: Model of each WABA-level field whose whole ``value`` is one update.
FIELD_VALUE_MODELS: dict[str, type[TolerantModel]] = {
    WebhookField.MESSAGE_TEMPLATE_STATUS_UPDATE: TemplateStatusUpdate,
    WebhookField.MESSAGE_TEMPLATE_QUALITY_UPDATE: TemplateQualityUpdate,
    WebhookField.TEMPLATE_CATEGORY_UPDATE: TemplateCategoryUpdate,
    WebhookField.PHONE_NUMBER_QUALITY_UPDATE: PhoneNumberQualityUpdate,
    WebhookField.PHONE_NUMBER_NAME_UPDATE: PhoneNumberNameUpdate,
    WebhookField.ACCOUNT_UPDATE: AccountUpdate,
    WebhookField.BUSINESS_CAPABILITY_UPDATE: BusinessCapabilityUpdate,
    WebhookField.FLOWS: FlowsUpdate,
}

FieldValue = (
    TemplateStatusUpdate
    | TemplateQualityUpdate
    | TemplateCategoryUpdate
    | PhoneNumberQualityUpdate
    | PhoneNumberNameUpdate
    | AccountUpdate
    | BusinessCapabilityUpdate
    | FlowsUpdate
    | UserPreference
    | CallEvent
)
