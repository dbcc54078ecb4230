"""Inbound ``value.messages[]`` items (docs/meta/webhooks.md#inbound-messages).

One flat :class:`InboundMessage` model rather than a discriminated union: Meta's
message object *is* flat (``type`` names which sibling key holds the body), and a
flat model never fails on a ``type`` we do not know — the message still parses,
``known_type`` is ``None`` and ``is_unknown_type`` is ``True``. Consumers switch on
``known_type`` and read the matching attribute.
"""

import json
from enum import StrEnum
from typing import Any

from pydantic import Field

from wacloud.models.webhook.common import TolerantModel, WaError, known
from wacloud.models.webhook.keys import to_int


class MessageType(StrEnum):
    """Inbound message types documented by Meta (OAS, M:webhooks reference, PYWA)."""

    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    REQUEST_WELCOME = "request_welcome"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"  # Meta's own name (OAS) for an unsupported inbound type
    REVOKE = "revoke"  # newer, probably post-v23
    EDIT = "edit"  # newer, probably post-v23


class InteractiveType(StrEnum):
    """``interactive.type`` values a user reply can carry."""

    BUTTON_REPLY = "button_reply"
    LIST_REPLY = "list_reply"
    NFM_REPLY = "nfm_reply"
    CALL_PERMISSION_REPLY = "call_permission_reply"


class SystemType(StrEnum):
    """``system.type`` values from docs/meta."""

    USER_CHANGED_NUMBER = "user_changed_number"
    CUSTOMER_IDENTITY_CHANGED = "customer_identity_changed"


# --- reply context and ad referral -------------------------------------------------


class ReferredProduct(TolerantModel):
    """Product the user asked about (product inquiry)."""

    catalog_id: str | None = None
    product_retailer_id: str | None = None


class MessageContext(TolerantModel):
    """``messages[].context``: reply-to (``from``/``id``), forwarding flags, product."""

    from_: str | None = Field(default=None, alias="from")
    id: str | None = None
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None
    referred_product: ReferredProduct | None = None


class WelcomeMessage(TolerantModel):
    """Pre-filled text of a Click-to-WhatsApp ad."""

    text: str | None = None


class Referral(TolerantModel):
    """``messages[].referral``: the user came from a Click-to-WhatsApp ad or post.

    May ride on any message type. Its presence is what makes a conversation a free
    entry point (docs/meta/messages.md#customer-service-window).
    """

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None  # "ad" | "post"
    body: str | None = None
    headline: str | None = None
    media_type: str | None = None  # "image" | "video"
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None
    welcome_message: WelcomeMessage | None = None


# --- bodies ------------------------------------------------------------------------


class Text(TolerantModel):
    """``text`` body."""

    body: str | None = None


class Media(TolerantModel):
    """Common media body (image, video; base of the others).

    ``url`` is a direct download link Meta started adding in Nov 2025
    (docs/meta/webhooks.md#inbound-messages); when it is missing the media must be fetched by ``id``
    through the Graph API.
    """

    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    url: str | None = None


class Audio(Media):
    """Audio; ``voice`` is ``True`` for a recorded voice note."""

    voice: bool | None = None


class Document(Media):
    """Document; carries the user's ``filename``."""

    filename: str | None = None


class Sticker(Media):
    """Sticker (``image/webp``); ``animated`` tells animated from static."""

    animated: bool | None = None


class Location(TolerantModel):
    """Shared location; a "current location" share may hold only the coordinates."""

    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ButtonReply(TolerantModel):
    """Tap on a reply button of an interactive message."""

    id: str | None = None
    title: str | None = None


class ListReply(TolerantModel):
    """Pick from an interactive list."""

    id: str | None = None
    title: str | None = None
    description: str | None = None


class NfmReply(TolerantModel):
    """Completed WhatsApp Flow; ``response_json`` is a JSON *string*
    (docs/meta/webhooks.md#inbound-messages)."""

    response_json: str | None = None
    body: str | None = None
    name: str | None = None

    def response(self) -> dict[str, Any]:
        """Decode ``response_json``.

        Returns ``{}`` when Meta sent none. Raises ``ValueError`` when it is not a
        JSON object — that is a broken flow response the caller should log, not a
        webhook we should have rejected, so parsing the webhook itself never fails.
        """
        if not self.response_json:
            return {}
        data = json.loads(self.response_json)
        if not isinstance(data, dict):
            raise ValueError("nfm_reply.response_json is not a JSON object")
        return data


class CallPermissionReply(TolerantModel):
    """User's answer to a call-permission request (docs/meta/calling.md)."""

    response: str | None = None  # "accept" | "reject"
    expiration_timestamp: int | None = None
    response_source: str | None = None


class Interactive(TolerantModel):
    """``interactive`` body of a user reply; ``type`` names the populated sub-object."""

    type: str
    button_reply: ButtonReply | None = None
    list_reply: ListReply | None = None
    nfm_reply: NfmReply | None = None
    call_permission_reply: CallPermissionReply | None = None

    @property
    def known_type(self) -> InteractiveType | None:
        """The reply kind, or ``None`` for one we do not know yet."""
        return known(InteractiveType, self.type)


class Button(TolerantModel):
    """Quick-reply tap on a *template* button (``payload`` set at send time)."""

    payload: str | None = None
    text: str | None = None


class Reaction(TolerantModel):
    """Reaction to one of our messages; ``emoji`` is absent when it was removed."""

    message_id: str | None = None
    emoji: str | None = None

    @property
    def is_removal(self) -> bool:
        """True when the user took the reaction back."""
        return not self.emoji


class ProductItem(TolerantModel):
    """One line of an order."""

    product_retailer_id: str | None = None
    quantity: int | None = None
    item_price: float | None = None
    currency: str | None = None


class Order(TolerantModel):
    """Cart sent from a catalog."""

    catalog_id: str | None = None
    text: str | None = None
    product_items: list[ProductItem] = Field(default_factory=list)


class System(TolerantModel):
    """Notice generated by WhatsApp about the user (number or identity change)."""

    body: str | None = None
    wa_id: str | None = None
    type: str | None = None

    @property
    def known_type(self) -> SystemType | None:
        """The system notice kind, or ``None`` for one we do not know yet."""
        return known(SystemType, self.type)


class Identity(TolerantModel):
    """``identity`` sibling of a ``customer_identity_changed`` system message."""

    acknowledged: bool | None = None
    created_timestamp: str | None = None
    hash: str | None = None


class Unsupported(TolerantModel):
    """Newer payloads name the type WhatsApp could not deliver to the API."""

    type: str | None = None


class Revoke(TolerantModel):
    """User deleted a message they had sent (newer, tolerated)."""

    original_message_id: str | None = None


class Edit(TolerantModel):
    """User edited a message they had sent (newer, tolerated).

    ``message`` holds the new content in message shape (``type`` plus body); it is
    kept as a dict because its exact shape is not in docs/meta.
    """

    original_message_id: str | None = None
    message: dict[str, Any] | None = None


# --- the message -------------------------------------------------------------------


class InboundMessage(TolerantModel):
    """One element of ``value.messages[]``.

    Only ``id`` and ``type`` are required: ``from`` is missing on some system messages
    (PYWA ``user_changed_user_id`` fixture), and an unknown or unsupported type must
    still parse so the update is stored and flagged instead of lost.
    """

    id: str
    type: str = ""  # missing type -> flagged as unknown, not rejected
    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    timestamp: str | None = None
    context: MessageContext | None = None
    referral: Referral | None = None
    errors: list[WaError] | None = None

    text: Text | None = None
    image: Media | None = None
    audio: Audio | None = None
    video: Media | None = None
    document: Document | None = None
    sticker: Sticker | None = None
    location: Location | None = None
    contacts: list[dict[str, Any]] | None = None  # contact cards; shape not pinned down
    interactive: Interactive | None = None
    button: Button | None = None
    reaction: Reaction | None = None
    order: Order | None = None
    system: System | None = None
    identity: Identity | None = None
    unsupported: Unsupported | None = None
    revoke: Revoke | None = None
    edit: Edit | None = None

    @property
    def known_type(self) -> MessageType | None:
        """The message type, or ``None`` when Meta sent a type we do not know."""
        return known(MessageType, self.type)

    @property
    def is_unknown_type(self) -> bool:
        """True for a ``type`` outside :class:`MessageType` (or an unknown interactive
        sub-type): store it, flag it, do not guess."""
        kind = self.known_type
        if kind is None:
            return True
        if kind is MessageType.INTERACTIVE and self.interactive is not None:
            return self.interactive.known_type is None
        return False

    @property
    def is_unsupported(self) -> bool:
        """True when WhatsApp itself says the user sent something the API cannot show."""
        return self.type in (MessageType.UNSUPPORTED, MessageType.UNKNOWN)

    @property
    def sent_at(self) -> int | None:
        """``timestamp`` as Unix seconds (Meta sends a string)."""
        return to_int(self.timestamp)

    @property
    def media(self) -> Media | None:
        """The media body of an image/audio/video/document/sticker message, if any."""
        for body in (self.image, self.audio, self.video, self.document, self.sticker):
            if body is not None:
                return body
        return None

    @property
    def sender_ids(self) -> set[str]:
        """Ids that identify the sender, for matching ``value.contacts``."""
        return {i for i in (self.from_, self.from_user_id) if i}
