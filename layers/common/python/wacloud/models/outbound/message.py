"""Outbound Cloud API messages as data.

``message.model_dump(mode="json", by_alias=True, exclude_none=True)`` is exactly
the type-specific part of Meta's ``POST /{phone-number-id}/messages`` body; the
envelope (``messaging_product``, ``to``, ``context``...) is added by the caller.
Keeping the two apart lets one validated message be sent to many recipients.

The building blocks live in ``outbound_*`` modules; this module is the public
surface and re-exports them.
"""

import functools
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from wacloud.models.outbound.basic import (
    CONTACTS_MAX,
    TEXT_BODY_MAX,
    ContactAddress,
    ContactCard,
    ContactEmail,
    ContactList,
    ContactName,
    ContactOrg,
    ContactPhone,
    ContactUrl,
    LocationObject,
    ReactionObject,
    TextObject,
)
from wacloud.models.outbound.common import (
    Chars,
    Items,
    NonEmptyStr,
    StrictModel,
    describe_validation_error,
    readable_loc,
    register_root,
)
from wacloud.models.outbound.interactive import (
    FLOW_CTA_MAX,
    Interactive,
    InteractiveButton,
    InteractiveCallPermissionRequest,
    InteractiveCarousel,
    InteractiveCatalogMessage,
    InteractiveCtaUrl,
    InteractiveFlow,
    InteractiveList,
    InteractiveLocationRequest,
    InteractiveProduct,
    InteractiveProductList,
)
from wacloud.models.outbound.media import (
    CAPTION_MAX,
    AudioObject,
    DocumentObject,
    ImageObject,
    StickerObject,
    VideoObject,
    _MediaSource,
)
from wacloud.models.outbound.template import TemplateObject


class _Message(StrictModel):
    """Common checks for every message variant."""

    @model_validator(mode="after")
    def _one_upload(self) -> Self:
        # The sender uploads a single S3 object per message (media_s3_key returns one key).
        found = _s3_sources(self)
        if len(found) > 1:
            raise PydanticCustomError(
                "wacloud_media_source",
                "at most one media may use s3_key per message, got {n}; use id or link "
                "for the others",
                {"n": len(found)},
            )
        return self


class TextMessage(_Message):
    type: Literal["text"]
    text: TextObject


class ImageMessage(_Message):
    type: Literal["image"]
    image: ImageObject


class AudioMessage(_Message):
    type: Literal["audio"]
    audio: AudioObject


class VideoMessage(_Message):
    type: Literal["video"]
    video: VideoObject


class DocumentMessage(_Message):
    type: Literal["document"]
    document: DocumentObject


class StickerMessage(_Message):
    type: Literal["sticker"]
    sticker: StickerObject


class LocationMessage(_Message):
    type: Literal["location"]
    location: LocationObject


class ContactsMessage(_Message):
    type: Literal["contacts"]
    contacts: ContactList


class ReactionMessage(_Message):
    type: Literal["reaction"]
    reaction: ReactionObject


class TemplateMessage(_Message):
    type: Literal["template"]
    template: TemplateObject


class InteractiveMessage(_Message):
    type: Literal["interactive"]
    interactive: Interactive


OutboundMessage = Annotated[
    TextMessage
    | ImageMessage
    | AudioMessage
    | VideoMessage
    | DocumentMessage
    | StickerMessage
    | LocationMessage
    | ContactsMessage
    | ReactionMessage
    | TemplateMessage
    | InteractiveMessage,
    Field(discriminator="type"),
]

_BY_TYPE: dict[str, type[BaseModel]] = {
    "text": TextMessage,
    "image": ImageMessage,
    "audio": AudioMessage,
    "video": VideoMessage,
    "document": DocumentMessage,
    "sticker": StickerMessage,
    "location": LocationMessage,
    "contacts": ContactsMessage,
    "reaction": ReactionMessage,
    "template": TemplateMessage,
    "interactive": InteractiveMessage,
}
#: Every message type, in Meta's order (the keys above).
MESSAGE_TYPES: tuple[str, ...] = tuple(_BY_TYPE)
register_root("OutboundMessage", OutboundMessage)


@functools.cache
def outbound_adapter() -> TypeAdapter[OutboundMessage]:
    """The whole union, built on first use (JSON schema, or input with no known type).

    TypeAdapter errors carry a generated title ("tagged-union[TextMessage,...]"); it is
    learnt here so describe_validation_error can resolve locations for it too.
    """
    adapter: TypeAdapter[OutboundMessage] = TypeAdapter(OutboundMessage)
    try:
        adapter.validate_python({"type": None})
    except ValidationError as exc:
        register_root(exc.title, OutboundMessage)
    return adapter


def parse_outbound(data: Any) -> OutboundMessage:
    """Validate a dict such as ``{"type": "text", "text": {...}}`` into a message model.

    A known ``type`` goes straight to its model, so only the types in use are ever
    built (see ``StrictModel``); the result and its errors' locations are those of the
    union, less the union's tag.
    """
    kind = data.get("type") if isinstance(data, dict) else None
    model = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if model is not None:
        message: OutboundMessage = model.model_validate(data)  # type: ignore[assignment]
        return message
    return outbound_adapter().validate_python(data)


def content_of(message: OutboundMessage) -> BaseModel | list[ContactCard]:
    """The object under the field named after ``message.type``."""
    content: BaseModel | list[ContactCard] = getattr(message, message.type)
    return content


def is_template(message: OutboundMessage) -> bool:
    """Templates are the only messages allowed outside the 24 h window
    (docs/meta/messages.md#customer-service-window)."""
    return isinstance(message, TemplateMessage)


def message_kind(message: OutboundMessage) -> str:
    """``"text"``, ``"image"``..., or ``"interactive.<type>"`` for metrics and routing."""
    if isinstance(message, InteractiveMessage):
        return f"interactive.{message.interactive.type}"
    return message.type


# ------------------------------------------------------------------- s3_key helpers


def _s3_sources(obj: Any) -> list[_MediaSource]:
    if isinstance(obj, _MediaSource):
        return [obj] if obj.s3_key is not None else []
    if isinstance(obj, BaseModel):
        out: list[_MediaSource] = []
        for name in type(obj).model_fields:
            out += _s3_sources(getattr(obj, name))
        return out
    if isinstance(obj, list):
        return [m for item in obj for m in _s3_sources(item)]
    return []


def media_s3_key(message: OutboundMessage) -> str | None:
    """The ``s3_key`` the sender must upload before this message can go to Meta, if any."""
    found = _s3_sources(message)
    return found[0].s3_key if found else None


def _replace_s3[T](obj: T, media_id: str) -> T:
    if isinstance(obj, _MediaSource):
        return obj.with_id(media_id) if obj.s3_key is not None else obj
    if isinstance(obj, BaseModel):
        updates = {}
        for name in type(obj).model_fields:
            value = getattr(obj, name)
            new = _replace_s3(value, media_id)
            if new is not value:
                updates[name] = new
        return obj.model_copy(update=updates) if updates else obj
    if isinstance(obj, list):
        items = [_replace_s3(item, media_id) for item in obj]
        if any(a is not b for a, b in zip(items, obj, strict=True)):
            return items  # type: ignore[return-value]
    return obj


def with_media_id(message: OutboundMessage, media_id: str) -> OutboundMessage:
    """Copy of ``message`` whose ``s3_key`` media now points at Meta's uploaded ``media_id``.

    A message without an ``s3_key`` is returned unchanged, so the sender can call
    this unconditionally after an upload.
    """
    if not media_id:
        raise ValueError("media_id must be a non-empty Meta media id")
    return _replace_s3(message, media_id)


def has_unresolved_media(message: OutboundMessage) -> bool:
    """True while an ``s3_key`` is still present; such a message must not be sent to Meta."""
    return bool(_s3_sources(message))


# ------------------------------------------------------- read receipts and typing


class TypingIndicatorObject(StrictModel):
    type: Literal["text"] = "text"


class MarkRead(StrictModel):
    """``POST /{phone-number-id}/messages`` body marking an inbound message read
    (docs/meta/messages.md#read-receipts).

    Marking one message read also marks earlier ones; it must happen within 30
    days of receipt or Meta answers 131009.
    """

    messaging_product: Literal["whatsapp"] = "whatsapp"
    status: Literal["read"] = "read"
    message_id: NonEmptyStr
    typing_indicator: TypingIndicatorObject | None = None


class TypingIndicator(MarkRead):
    """Read receipt plus typing indicator; Meta only offers the two together
    (docs/meta/messages.md#read-receipts).

    The indicator disappears when we reply or after 25 seconds, whichever is first.
    """

    typing_indicator: TypingIndicatorObject = Field(default_factory=TypingIndicatorObject)


__all__ = [
    "CAPTION_MAX",
    "CONTACTS_MAX",
    "FLOW_CTA_MAX",
    "MESSAGE_TYPES",
    "TEXT_BODY_MAX",
    "AudioMessage",
    "AudioObject",
    "Chars",
    "ContactAddress",
    "ContactCard",
    "ContactEmail",
    "ContactName",
    "ContactOrg",
    "ContactPhone",
    "ContactUrl",
    "ContactsMessage",
    "DocumentMessage",
    "DocumentObject",
    "ImageMessage",
    "ImageObject",
    "InteractiveButton",
    "InteractiveCallPermissionRequest",
    "InteractiveCarousel",
    "InteractiveCatalogMessage",
    "InteractiveCtaUrl",
    "InteractiveFlow",
    "InteractiveList",
    "InteractiveLocationRequest",
    "InteractiveMessage",
    "InteractiveProduct",
    "InteractiveProductList",
    "Items",
    "LocationMessage",
    "LocationObject",
    "MarkRead",
    "OutboundMessage",
    "ReactionMessage",
    "ReactionObject",
    "StickerMessage",
    "StickerObject",
    "TemplateMessage",
    "TemplateObject",
    "TextMessage",
    "TextObject",
    "TypingIndicator",
    "TypingIndicatorObject",
    "VideoMessage",
    "VideoObject",
    "content_of",
    "describe_validation_error",
    "has_unresolved_media",
    "is_template",
    "media_s3_key",
    "message_kind",
    "outbound_adapter",
    "parse_outbound",
    "readable_loc",
    "with_media_id",
]
