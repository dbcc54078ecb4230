"""The send envelope (docs/meta/messages.md#send) and dispatch to each family's validator."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import GraphError, invalid
from .common import as_obj, enum, no_unknown, req, string
from .interactive import validate_interactive
from .media import MEDIA_TYPES, MediaRef, validate_media
from .template import TemplateSend, validate_template_send
from .text import validate_contacts, validate_location, validate_reaction, validate_text

MESSAGE_TYPES = (
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "template",
    "reaction",
)
# 512 from PYWA and the OAS calling variant; NOT CONFIRMED on Meta's messages page
# (docs/meta/messages.md#send).
BIZ_OPAQUE_MAX = 512
_PHONE_CHARS = re.compile(r"^\+?[0-9\-\(\)\s]+$")


@dataclass
class OutboundMessage:
    to: str
    wa_id: str
    type: str
    payload: dict[str, Any]
    biz_opaque_callback_data: str | None
    context_id: str | None
    media: list[MediaRef] = field(default_factory=list)
    template: TemplateSend | None = None
    reaction_to: str | None = None


def normalize_recipient(to: str, business_display_number: str) -> str:
    """Return the wa_id for ``to`` (docs/meta/messages.md#send "WhatsApp user phone number
    formats").

    ``+``, ``-``, ``(``, ``)`` and spaces are accepted. Without ``+`` Meta prepends the
    business number's country code. Meta's exact heuristic is undocumented; the emulator
    prepends it only to numbers of 10 digits or fewer (a national number) and treats longer
    ones as already international, which is how callers who omit ``+`` behave in practice.
    Only the NANP code ``1`` is derived from the business number (other codes are not
    modelled: NOT CONFIRMED).
    """
    if not _PHONE_CHARS.match(to):
        raise invalid("to", "is not a valid WhatsApp phone number.")
    digits = re.sub(r"\D", "", to)
    if not to.strip().startswith("+") and len(digits) <= 10:
        cc = "1" if business_display_number.startswith("1") else ""
        digits = cc + digits
    # E.164 allows at most 15 digits; fewer than 8 cannot be an international number.
    if not 8 <= len(digits) <= 15:
        raise invalid("to", "is not a valid WhatsApp phone number.")
    return digits


def validate_outbound(body: dict[str, Any], business_display_number: str) -> OutboundMessage:
    mp = req(body, "messaging_product", "")
    if mp != "whatsapp":
        raise invalid("messaging_product", 'must be "whatsapp".')
    if "recipient_type" in body:
        rt = enum(body["recipient_type"], ["individual", "group"], "recipient_type")
        if rt == "group":
            raise GraphError(131009, "Groups API is not emulated; use recipient_type individual.")
    to = req(body, "to", "")
    if not isinstance(to, str):
        raise invalid("to", "must be a string.")
    mtype = req(body, "type", "")  # docs/meta lists no default, so it is required
    if mtype not in MESSAGE_TYPES:
        raise GraphError(131051, f"Message type '{mtype}' is not supported.")
    no_unknown(
        body,
        {
            "messaging_product",
            "recipient_type",
            "to",
            "type",
            "context",
            "biz_opaque_callback_data",
            mtype,
        },
        "",
    )
    wa_id = normalize_recipient(to, business_display_number)
    opaque = string(body, "biz_opaque_callback_data", "", max_len=BIZ_OPAQUE_MAX)
    context_id = None
    if "context" in body:
        ctx = as_obj(body["context"], "context")
        no_unknown(ctx, {"message_id"}, "context")
        context_id = string(ctx, "message_id", "context", required=True)
    payload = req(body, mtype, "")
    out = OutboundMessage(
        to=to,
        wa_id=wa_id,
        type=mtype,
        payload=payload,
        biz_opaque_callback_data=opaque,
        context_id=context_id,
    )
    if mtype == "text":
        validate_text(payload)
    elif mtype in MEDIA_TYPES:
        out.media.append(validate_media(mtype, payload))
    elif mtype == "location":
        validate_location(payload)
    elif mtype == "contacts":
        validate_contacts(payload)
    elif mtype == "reaction":
        out.reaction_to = validate_reaction(payload)
    elif mtype == "interactive":
        out.media.extend(validate_interactive(payload))
    elif mtype == "template":
        out.template = validate_template_send(payload)
        out.media.extend(out.template.media)
    return out


def validate_mark_read(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """Mark-as-read with optional typing indicator (docs/meta/messages.md#read-receipts). Returns
    (wamid, indicator)."""
    no_unknown(body, {"messaging_product", "status", "message_id", "typing_indicator"}, "")
    if req(body, "messaging_product", "") != "whatsapp":
        raise invalid("messaging_product", 'must be "whatsapp".')
    enum(body["status"], ["read"], "status")
    mid = req(body, "message_id", "")
    if not isinstance(mid, str):
        raise invalid("message_id", "must be a string.")
    indicator = None
    if "typing_indicator" in body:
        indicator = as_obj(body["typing_indicator"], "typing_indicator")
        no_unknown(indicator, {"type"}, "typing_indicator")
        enum(req(indicator, "type", "typing_indicator"), ["text"], "typing_indicator['type']")
    return mid, indicator
