"""The responder interface: what answers a customer's message.

The inbound processor hands each newly recorded customer message to one responder
and submits whatever replies it returns. Today: a small menu or an echo. The AI
assistant (contextual replies, intent, handoff) plugs in here as another Responder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from wacloud.infra.config import settings
from wacloud.models.outbound.basic import TEXT_BODY_MAX


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    phone_number_id: str
    wa_id: str
    wamid: str
    type: str
    text: str | None
    reply_id: str | None
    profile_name: str | None


# A reply is the type-specific part of a submission ({"type": "text", "text": {...}}).
Reply = dict[str, Any]


class Responder(Protocol):
    def respond(self, message: IncomingMessage) -> Sequence[Reply]: ...


ELLIPSIS = "\u2026"
_JOINERS = "\u200d\ufe0e\ufe0f"  # zero-width joiner, variation selectors


def fit_text(body: str, limit: int = TEXT_BODY_MAX) -> str:
    """``body`` cut to at most ``limit`` characters, ending with an ellipsis if cut.

    Characters are code points, as Meta counts them (and as the submission model
    checks them), so the cut never splits one. A joiner or variation selector left
    dangling at the cut is dropped with the rest of its sequence.
    """
    if len(body) <= limit:
        return body
    return body[: limit - len(ELLIPSIS)].rstrip(_JOINERS) + ELLIPSIS


def text_reply(body: str) -> Reply:
    """A text reply that always fits Meta's text body limit (an echo of a 4,096-character
    message would otherwise be refused)."""
    return {"type": "text", "text": {"body": fit_text(body)}}


class NoReply:
    def respond(self, message: IncomingMessage) -> Sequence[Reply]:
        return ()


class EchoResponder:
    def respond(self, message: IncomingMessage) -> Sequence[Reply]:
        if message.text:
            return (text_reply(f"You said: {message.text}"),)
        return (text_reply(f"Thanks, we received your {message.type}."),)


class MenuResponder:
    """Greets with a numbered menu and answers its options; echoes anything else."""

    GREETINGS = frozenset({"hi", "hello", "hey", "hola", "menu", "start", "ola", "oi"})
    MENU = (
        "Hi{name}! How can we help?\n"
        "1. Opening hours\n2. Talk to a person\n3. About us\nReply with a number."
    )
    ANSWERS = {
        "1": "We are open Monday to Friday, 9:00 to 18:00.",
        "2": "Thanks! A member of our team will reply here shortly.",
        "3": "We run on wacloud, an open-source WhatsApp platform for AWS.",
    }

    def respond(self, message: IncomingMessage) -> Sequence[Reply]:
        text = (message.text or message.reply_id or "").strip()
        key = text.lower().strip("!.? ")
        if key in self.GREETINGS:
            name = f" {message.profile_name}" if message.profile_name else ""
            return (text_reply(self.MENU.format(name=name)),)
        if key in self.ANSWERS:
            return (text_reply(self.ANSWERS[key]),)
        return EchoResponder().respond(message)


_RESPONDERS: dict[str, type[Responder]] = {
    "menu": MenuResponder,
    "echo": EchoResponder,
    "none": NoReply,
}


def configured_responder() -> Responder:
    """The responder named by RESPONDER (menu, echo, none); menu by default."""
    name = settings().responder
    if name not in _RESPONDERS:
        raise ValueError(f"RESPONDER must be one of {sorted(_RESPONDERS)}, not {name!r}")
    return _RESPONDERS[name]()
