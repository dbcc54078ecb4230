"""Inbound: webhooks received, split, checked and dispatched to one handler per kind.

Public names for other features (wacloud.conversations' handoff gate, the assistant):
the responder interface, loaded on first access (PEP 562) so that importing a module
of this package (WebhookReceive's cold start) does not load the outbound models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .responder import (
        IncomingMessage,
        MediaRef,
        Reply,
        Responder,
        Response,
        as_response,
        text_reply,
    )

_RESPONDER_NAMES = frozenset(
    {"IncomingMessage", "MediaRef", "Reply", "Responder", "Response", "as_response", "text_reply"}
)

__all__ = [
    "IncomingMessage",
    "MediaRef",
    "Reply",
    "Responder",
    "Response",
    "as_response",
    "text_reply",
]


def __getattr__(name: str) -> Any:
    if name in _RESPONDER_NAMES:
        from . import responder

        return getattr(responder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
