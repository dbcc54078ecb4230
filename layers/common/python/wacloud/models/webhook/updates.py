"""Flatten a webhook into one :data:`Update` per item, and the window rules.

Popular SDKs read ``entry[0].changes[0].value.messages[0]`` and silently drop the
rest of a batched POST (docs/meta/webhooks.md#delivery: up to 1000 updates per batch).
:func:`iter_updates` yields every entry x change x item, each with a dedupe key (Meta retries and
duplicates, docs/meta/webhooks.md#delivery) and a tenant key: ``phone_number_id`` for per-number
items, ``waba_id`` for WABA-level fields where ``phone_number_id`` is ``None``.
"""

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wacloud.models.webhook.common import TolerantModel, WaError, WebhookContact, pick_contact
from wacloud.models.webhook.envelope import Change, Entry, WebhookPayload
from wacloud.models.webhook.fields import (
    FIELD_VALUE_MODELS,
    CallEvent,
    FieldValue,
    TemplateStatusUpdate,
    WebhookField,
)
from wacloud.models.webhook.keys import (
    WHOLE_VALUE,
    field_key,
    message_key,
    status_key,
)
from wacloud.models.webhook.messages import InboundMessage, MessageType
from wacloud.models.webhook.statuses import MessageStatus

#: A user message or call keeps the customer service window open this long
#: (docs/meta/messages.md#customer-service-window).
CUSTOMER_SERVICE_WINDOW_SECONDS = 24 * 3600
#: A free entry point (CTWA ad), once answered within 24 h, makes all messages free
#: for this long (docs/meta/messages.md#customer-service-window).
FREE_ENTRY_POINT_WINDOW_SECONDS = 72 * 3600


class _UpdateBase(BaseModel):
    """Fields every update carries; updates are our own data, so no extras."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    waba_id: str
    phone_number_id: str | None
    dedupe_key: str
    #: Unix seconds: the item's own timestamp, else ``entry.time``, else 0 (value-level
    #: errors outside WABA-level fields carry neither; use the receive time then).
    occurred_at: int


class MessageUpdate(_UpdateBase):
    """An inbound user message (any type, including unknown ones)."""

    kind: Literal["message"] = "message"
    display_phone_number: str | None = None
    contact: WebhookContact | None = None
    message: InboundMessage

    @property
    def is_unknown(self) -> bool:
        """True when the message type (or interactive sub-type) is not one we know."""
        return self.message.is_unknown_type


class StatusUpdate(_UpdateBase):
    """A status of one of our messages, or of a call (``status.is_call``)."""

    kind: Literal["status"] = "status"
    display_phone_number: str | None = None
    status: MessageStatus

    @property
    def is_unknown(self) -> bool:
        """True when the status value is not one we know."""
        return self.status.is_unknown_status


class FieldUpdate(_UpdateBase):
    """Anything that is not a message or status: a WABA-level field value, one call
    event, one user preference, or the raw value of a field we do not know.

    ``value`` is the field's model when we have one, else the raw dict. (``dict``
    comes first in the union so a raw dict is never coerced into some model with
    extras; an update re-read from JSON therefore holds a dict.)
    """

    kind: Literal["field"] = "field"
    field: str
    value: dict[str, Any] | FieldValue
    time: int | None = None
    contact: WebhookContact | None = None

    @property
    def is_unknown(self) -> bool:
        """True for a field we do not know, a known one whose value did not fit its
        model, or a template status event outside the documented list."""
        if not isinstance(self.value, TolerantModel) or self.field not in set(WebhookField):
            return True
        if isinstance(self.value, TemplateStatusUpdate):
            return self.value.known_event is None
        return False


class ErrorUpdate(_UpdateBase):
    """A ``value.errors[]`` item: Meta could not deliver something to us
    (docs/meta/webhooks.md#value-errors)."""

    kind: Literal["error"] = "error"
    field: str
    error: WaError

    @property
    def is_unknown(self) -> bool:
        """Errors are always understood as errors."""
        return False


Update = Annotated[
    MessageUpdate | StatusUpdate | FieldUpdate | ErrorUpdate,
    Field(discriminator="kind"),
]


def iter_updates(payload: WebhookPayload) -> Iterator[Update]:
    """Yield one update per item of every change of every entry.

    A change whose ``value`` holds no non-empty item list (``messages``,
    ``statuses``, ``errors``, ``calls``, ``user_preferences``) is one item itself and
    yields one :class:`FieldUpdate`; so nothing Meta sends is ever skipped. The
    splitter (``wacloud.inbound.split``) uses the same rule.
    """
    for entry in payload.entry:
        for change in entry.changes:
            yield from _change_updates(entry, change)


def _change_updates(entry: Entry, change: Change) -> Iterator[Update]:
    value = change.value
    raw = change.raw_value
    pnid = value.phone_number_id
    fallback_time = entry.time if entry.time is not None else 0

    def key(kind: str, item: object) -> str:
        return field_key(
            field=change.field,
            kind=kind,
            item=item,
            waba_id=entry.id,
            phone_number_id=pnid,
            time=entry.time,
        )

    has_items = False
    for message in value.messages or ():
        has_items = True
        yield MessageUpdate(
            waba_id=entry.id,
            phone_number_id=pnid,
            display_phone_number=value.display_phone_number,
            contact=pick_contact(value.contacts, message.sender_ids, single_fallback=True),
            message=message,
            dedupe_key=message_key(message.id),
            occurred_at=_first_int(message.sent_at, fallback_time),
        )
    for status in value.statuses or ():
        has_items = True
        yield StatusUpdate(
            waba_id=entry.id,
            phone_number_id=pnid,
            display_phone_number=value.display_phone_number,
            status=status,
            dedupe_key=status_key(status.id, status.status),
            occurred_at=_first_int(status.sent_at, fallback_time),
        )
    for index, call in enumerate(value.calls or ()):
        has_items = True
        ids = {i for i in (call.from_, call.to) if i}
        yield FieldUpdate(
            waba_id=entry.id,
            phone_number_id=pnid,
            field=change.field,
            value=call,
            time=entry.time,
            contact=pick_contact(value.contacts, ids, single_fallback=True),
            dedupe_key=key("calls", raw["calls"][index]),
            occurred_at=_first_int(call.sent_at, fallback_time),
        )
    for index, pref in enumerate(value.user_preferences or ()):
        has_items = True
        yield FieldUpdate(
            waba_id=entry.id,
            phone_number_id=pnid,
            field=change.field,
            value=pref,
            time=entry.time,
            contact=pick_contact(
                value.contacts, {pref.wa_id} if pref.wa_id else set(), single_fallback=True
            ),
            dedupe_key=key("user_preferences", raw["user_preferences"][index]),
            occurred_at=_first_int(pref.timestamp, fallback_time),
        )
    for index, error in enumerate(value.errors or ()):
        has_items = True
        yield ErrorUpdate(
            waba_id=entry.id,
            phone_number_id=pnid,
            field=change.field,
            error=error,
            dedupe_key=key("errors", raw["errors"][index]),
            occurred_at=fallback_time,
        )
    if not has_items:
        yield FieldUpdate(
            waba_id=entry.id,
            phone_number_id=pnid,
            field=change.field,
            value=_typed_field_value(change.field, raw),
            time=entry.time,
            dedupe_key=key(WHOLE_VALUE, raw),
            occurred_at=fallback_time,
        )


def _typed_field_value(field: str, raw: dict[str, Any]) -> FieldValue | dict[str, Any]:
    """Read a WABA-level value into its model; keep the dict if unknown or unfit.

    A value that does not fit its model is still delivered (as a dict, flagged by
    ``FieldUpdate.is_unknown``) rather than failing the whole webhook.
    """
    model = FIELD_VALUE_MODELS.get(field)
    if model is None:
        return raw
    try:
        typed: FieldValue = model.model_validate(raw)  # type: ignore[assignment]
    except ValidationError:
        return raw
    return typed


def _first_int(value: int | None, fallback: int) -> int:
    return value if value is not None else fallback


# --- window rules (pure) -----------------------------------------------------------

#: Message types that count as "the user messaged you" for the 24 h window
#: (docs/meta/messages.md#customer-service-window). Our reading of Meta: any message the *user*
#: sends opens or refreshes the window — that includes reactions, template button taps, interactive
#: replies, orders and the ``unsupported`` type (the user did send something, we just cannot render
#: it). ``request_welcome`` is included because Meta's welcome-message feature expects a
#: free-form reply to it. Excluded: ``system`` notices (generated by WhatsApp, not
#: the user), ``revoke`` and ``edit`` (changes to an earlier message, which already
#: opened the window; not a new message), and any type we do not know (unknown means
#: unknown — a wrong "open" makes a send fail with 131047).
_WINDOW_OPENING_TYPES: frozenset[MessageType] = frozenset(MessageType) - {
    MessageType.SYSTEM,
    MessageType.REVOKE,
    MessageType.EDIT,
}


def opens_customer_service_window(item: InboundMessage | CallEvent) -> bool:
    """True if this inbound item opens (or refreshes) the 24 h customer service window.

    Per docs/meta/messages.md#customer-service-window "a user message or call" opens it. For calls,
    any event of a user-initiated call counts; business-initiated calls do not.
    """
    if isinstance(item, CallEvent):
        return item.is_user_initiated
    kind = item.known_type
    return kind is not None and kind in _WINDOW_OPENING_TYPES


def free_entry_point(message: InboundMessage) -> bool:
    """True if the message arrived through a Click-to-WhatsApp ad (or ad post).

    Such a message is a free entry point: if the business replies within 24 h, a
    72 h window opens in which all messages are free
    (docs/meta/messages.md#customer-service-window). We key on the ``referral`` object, which Meta
    attaches only to ad-originated messages, with a documented ``source_type`` (``ad``/``post``) or
    a ``ctwa_clid``. Page-CTA entry points carry no documented marker, so they are not detected
    here; Meta confirms the outcome later through ``pricing.type == "free_entry_point"`` on
    statuses.
    """
    referral = message.referral
    if referral is None:
        return False
    return referral.source_type in ("ad", "post") or bool(referral.ctwa_clid)


def customer_service_window_expires_at(message: InboundMessage) -> int | None:
    """Unix time at which the window opened by ``message`` closes, if it opens one."""
    sent_at = message.sent_at
    if sent_at is None or not opens_customer_service_window(message):
        return None
    return sent_at + CUSTOMER_SERVICE_WINDOW_SECONDS
