"""The webhook envelope: ``object`` -> ``entry[]`` -> ``changes[]`` -> ``value``
(docs/meta/webhooks.md#envelope).

Every array level can hold several elements in one POST (docs/meta/webhooks.md#delivery "Batching"),
which is why nothing here exposes "the" message: use
:func:`wacloud.models.webhook.updates.iter_updates` to walk all of them.
"""

from typing import Any, Self

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_validator,
    model_validator,
)

from wacloud.models.webhook.common import Metadata, TolerantModel, WaError, WebhookContact
from wacloud.models.webhook.fields import CallEvent, UserPreference
from wacloud.models.webhook.keys import to_int
from wacloud.models.webhook.messages import InboundMessage
from wacloud.models.webhook.statuses import MessageStatus

#: The only ``object`` value a WhatsApp Business Account webhook carries.
WHATSAPP_OBJECT = "whatsapp_business_account"


class ChangeValue(TolerantModel):
    """``changes[].value``: the item lists of the ``messages``/``calls``/
    ``user_preferences`` fields, plus whatever keys a WABA-level field sends.

    WABA-level field keys (``event``, ``message_template_id``...) land in the model
    extras; :class:`Change` also keeps the raw dict so they can be re-read into the
    field's own model (see ``webhook_fields.FIELD_VALUE_MODELS``).
    """

    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[WebhookContact] | None = None
    messages: list[InboundMessage] | None = None
    statuses: list[MessageStatus] | None = None
    errors: list[WaError] | None = None
    calls: list[CallEvent] | None = None
    user_preferences: list[UserPreference] | None = None

    @property
    def phone_number_id(self) -> str | None:
        """The business number this change is about (None on WABA-level fields)."""
        return self.metadata.phone_number_id if self.metadata else None

    @property
    def display_phone_number(self) -> str | None:
        """Display form of the business number, when Meta sent metadata."""
        return self.metadata.display_phone_number if self.metadata else None


class Change(TolerantModel):
    """One ``entry[].changes[]`` element.

    Keeps the raw ``value`` dict (read-only, shared with the caller's input) because
    dedupe keys hash the item *as Meta sent it*, not a re-serialisation that could
    differ after type coercion — and the splitter, which never sees pydantic, must
    produce the same hash.
    """

    field: str
    value: ChangeValue = Field(default_factory=ChangeValue)
    _raw_value: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw_value(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        instance = handler(data)
        if isinstance(data, dict) and isinstance(data.get("value"), dict):
            instance._raw_value = data["value"]
        return instance

    @property
    def raw_value(self) -> dict[str, Any]:
        """The ``value`` object exactly as received (do not mutate)."""
        return self._raw_value


class Entry(TolerantModel):
    """One ``entry[]`` element; ``id`` is the WABA id, ``time`` is set on WABA-level
    fields (an int; normalised here in case it arrives as a string)."""

    id: str
    time: int | None = None
    changes: list[Change] = Field(default_factory=list)

    @field_validator("time", mode="before")
    @classmethod
    def _time_as_int(cls, raw: object) -> int | None:
        return to_int(raw)


class WebhookPayload(TolerantModel):
    """A whole POST body from Meta."""

    object: str
    entry: list[Entry] = Field(default_factory=list)
