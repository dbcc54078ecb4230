"""The responder interface: what answers a customer's message.

The inbound processor hands each newly recorded customer message to one responder
and submits the replies of its `Response`. A responder may also say that an answer
is on its way (`Response.pending`: the AI assistant answers from its own function),
so the typing indicator shows with nothing sent now, or ask for a person
(`Response.handoff`: the handoff gate, wacloud.conversations, hands over and tells
the customer the wait). Built in: a small menu, an echo, nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, overload

from wacloud.infra.config import settings
from wacloud.models.outbound.basic import TEXT_BODY_MAX


@dataclass(frozen=True, slots=True)
class MediaRef:
    """Where a message's media is stored (the media bucket's ``media/{sha256}``)."""

    bucket: str
    s3_key: str
    mime_type: str


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    phone_number_id: str
    wa_id: str
    wamid: str
    type: str
    text: str | None
    #: The id of the button or list row the customer chose, if any.
    reply_id: str | None
    profile_name: str | None
    #: When the customer sent it (Meta's timestamp, epoch seconds).
    at: float = 0.0
    #: The stored media (voice notes, images...); None for other types, or when the
    #: media is not stored (yet: it may be attached later, see inbound/messages.py).
    media: MediaRef | None = None
    #: The wamid the customer replied to (``context.id``), if any.
    context_wamid: str | None = None


# A reply is the type-specific part of a submission ({"type": "text", "text": {...}}).
Reply = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Response:
    """What a responder answers: replies to send now, and two signals.

    ``pending``: an answer is on its way from elsewhere (the typing indicator shows
    though nothing is sent now). ``handoff``: the reason to hand the conversation to
    a person (wacloud.conversations.HANDOFF_REASONS), acted on by the handoff gate.

    A Response is also the sequence of its replies, as responders used to return.
    """

    replies: tuple[Reply, ...] = ()
    pending: bool = False
    handoff: str | None = None

    def __iter__(self) -> Iterator[Reply]:
        return iter(self.replies)

    def __len__(self) -> int:
        return len(self.replies)

    @overload
    def __getitem__(self, index: int) -> Reply: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Reply, ...]: ...
    def __getitem__(self, index: int | slice) -> Reply | tuple[Reply, ...]:
        return self.replies[index]


def as_response(answer: Response | Sequence[Reply]) -> Response:
    """A responder's answer as a Response (a plain sequence of replies is accepted)."""
    return answer if isinstance(answer, Response) else Response(tuple(answer))


class Responder(Protocol):
    def respond(self, message: IncomingMessage) -> Response: ...


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
    def respond(self, message: IncomingMessage) -> Response:
        return Response()


class EchoResponder:
    def respond(self, message: IncomingMessage) -> Response:
        if message.text:
            return Response((text_reply(f"You said: {message.text}"),))
        return Response((text_reply(f"Thanks, we received your {message.type}."),))


class MenuResponder:
    """Greets with a numbered menu and answers its options; echoes anything else.

    Option 2 asks for a person (`Response.handoff` "menu"): behind the handoff gate
    the conversation is handed over and the customer told the expected wait instead
    of the generic answer here."""

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

    HANDOFF_OPTION = "2"

    def respond(self, message: IncomingMessage) -> Response:
        text = (message.text or message.reply_id or "").strip()
        key = text.lower().strip("!.? ")
        if key in self.GREETINGS:
            name = f" {message.profile_name}" if message.profile_name else ""
            return Response((text_reply(self.MENU.format(name=name)),))
        if key in self.ANSWERS:
            handoff = "menu" if key == self.HANDOFF_OPTION else None
            return Response((text_reply(self.ANSWERS[key]),), handoff=handoff)
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
