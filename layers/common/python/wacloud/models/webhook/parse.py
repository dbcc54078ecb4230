"""WhatsApp Cloud API webhook models: the public entry point.

Typical use in a worker::

    payload = parse_webhook(body)
    for update in iter_updates(payload):
        if seen(update.dedupe_key):
            continue
        ...

The models live in small ``webhook_*`` modules; this one re-exports them and adds
:func:`parse_webhook`. Models are data only (no I/O); the receive Lambda does not
use them at all — it splits raw dicts with ``wacloud.inbound.split``.
"""

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from wacloud.errors import InputError
from wacloud.infra.privacy import ErrorDetail, scrub_errors, summary
from wacloud.models.webhook.common import (
    ErrorData,
    Metadata,
    Profile,
    TolerantModel,
    WaError,
    WebhookContact,
)
from wacloud.models.webhook.envelope import (
    WHATSAPP_OBJECT,
    Change,
    ChangeValue,
    Entry,
    WebhookPayload,
)
from wacloud.models.webhook.fields import (
    FIELD_VALUE_MODELS,
    AccountUpdate,
    BusinessCapabilityUpdate,
    CallEvent,
    CallSession,
    FieldValue,
    FlowsUpdate,
    PhoneNumberNameUpdate,
    PhoneNumberQualityUpdate,
    RestrictionInfo,
    TemplateCategoryUpdate,
    TemplateEvent,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    UserPreference,
    VolumeTierInfo,
    WebhookField,
)
from wacloud.models.webhook.messages import (
    Audio,
    Button,
    ButtonReply,
    CallPermissionReply,
    Document,
    Edit,
    Identity,
    InboundMessage,
    Interactive,
    InteractiveType,
    ListReply,
    Location,
    Media,
    MessageContext,
    MessageType,
    NfmReply,
    Order,
    ProductItem,
    Reaction,
    Referral,
    ReferredProduct,
    Revoke,
    Sticker,
    System,
    SystemType,
    Text,
    Unsupported,
)
from wacloud.models.webhook.statuses import (
    CallStatusValue,
    Conversation,
    ConversationOrigin,
    MessageStatus,
    Pricing,
    StatusValue,
)
from wacloud.models.webhook.updates import (
    CUSTOMER_SERVICE_WINDOW_SECONDS,
    FREE_ENTRY_POINT_WINDOW_SECONDS,
    ErrorUpdate,
    FieldUpdate,
    MessageUpdate,
    StatusUpdate,
    Update,
    customer_service_window_expires_at,
    free_entry_point,
    iter_updates,
    opens_customer_service_window,
)


class WebhookFormatError(InputError, ValueError):
    """The body is not a WhatsApp Business Account webhook (or is malformed beyond
    what the tolerant models accept).

    The receive path should still answer 200 for a correctly signed body (Meta would
    otherwise retry the same bytes for 7 days) and park it for inspection.
    ``errors`` lists the validation problems without input values (wacloud.infra.privacy).
    """

    def __init__(self, message: str, errors: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.errors: list[ErrorDetail] = errors or []


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookPayload:
    """Parse a POST body (raw bytes, text or already-decoded JSON) into models.

    Raises :class:`WebhookFormatError` if the body is not JSON, not an object, not
    ``object == "whatsapp_business_account"``, has no ``entry`` list, or an item
    violates the few hard requirements (e.g. a message without ``id``).
    """
    data: object
    if isinstance(body, bytes | bytearray | str):
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WebhookFormatError(f"webhook body is not JSON: {exc}") from exc
    else:
        data = dict(body)
    if not isinstance(data, dict):
        raise WebhookFormatError("webhook body must be a JSON object")
    if data.get("object") != WHATSAPP_OBJECT:
        raise WebhookFormatError(f"not a WhatsApp webhook: object is not {WHATSAPP_OBJECT!r}")
    if not isinstance(data.get("entry"), list):
        raise WebhookFormatError("not a WhatsApp webhook: 'entry' must be a list")
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError as exc:
        # Scrubbed and not chained: pydantic's error quotes the customer's number and
        # message text, and this one is logged and may escape the handler.
        errors = scrub_errors(exc)
        raise WebhookFormatError(
            f"malformed WhatsApp webhook ({len(errors)} error(s)): {summary(errors)}",
            errors=errors,
        ) from None


__all__ = [
    "CUSTOMER_SERVICE_WINDOW_SECONDS",
    "FIELD_VALUE_MODELS",
    "FREE_ENTRY_POINT_WINDOW_SECONDS",
    "WHATSAPP_OBJECT",
    "AccountUpdate",
    "Audio",
    "BusinessCapabilityUpdate",
    "Button",
    "ButtonReply",
    "CallEvent",
    "CallPermissionReply",
    "CallSession",
    "CallStatusValue",
    "Change",
    "ChangeValue",
    "Conversation",
    "ConversationOrigin",
    "Document",
    "Edit",
    "Entry",
    "ErrorData",
    "ErrorUpdate",
    "FieldUpdate",
    "FieldValue",
    "FlowsUpdate",
    "Identity",
    "InboundMessage",
    "Interactive",
    "InteractiveType",
    "ListReply",
    "Location",
    "Media",
    "MessageContext",
    "MessageStatus",
    "MessageType",
    "MessageUpdate",
    "Metadata",
    "NfmReply",
    "Order",
    "PhoneNumberNameUpdate",
    "PhoneNumberQualityUpdate",
    "Pricing",
    "ProductItem",
    "Profile",
    "Reaction",
    "Referral",
    "ReferredProduct",
    "RestrictionInfo",
    "Revoke",
    "StatusUpdate",
    "StatusValue",
    "Sticker",
    "System",
    "SystemType",
    "TemplateCategoryUpdate",
    "TemplateEvent",
    "TemplateQualityUpdate",
    "TemplateStatusUpdate",
    "Text",
    "TolerantModel",
    "Unsupported",
    "Update",
    "UserPreference",
    "VolumeTierInfo",
    "WaError",
    "WebhookContact",
    "WebhookField",
    "WebhookFormatError",
    "WebhookPayload",
    "customer_service_window_expires_at",
    "free_entry_point",
    "iter_updates",
    "opens_customer_service_window",
    "parse_webhook",
]
