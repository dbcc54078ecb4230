"""`ScreenedResponder`: a Responder wrapper that screens each message first.

Allowed messages go to the inner responder and whatever it returns is passed through
untouched (replies, or any richer answer a newer Responder protocol returns). Over the
rate the customer gets one polite notice a burst, then silence; a blocked contact gets
silence.
"""

from __future__ import annotations

from typing import Any, Protocol

from wacloud.moderation.screen import Screen, Verdict
from wacloud.store.moderation import load_settings

# docs/meta/limits.md: a text body holds at most 4,096 characters.
NOTICE_MAX = 4096


class _Message(Protocol):
    """What the wrapper reads of inbound's `IncomingMessage` (structural: moderation
    does not import the inbound feature's modules)."""

    @property
    def phone_number_id(self) -> str: ...
    @property
    def wa_id(self) -> str: ...
    @property
    def text(self) -> str | None: ...


class _Responder(Protocol):
    def respond(self, message: Any) -> Any: ...


class ScreenedResponder:
    def __init__(self, inner: _Responder, screen: Screen | None = None) -> None:
        self.inner = inner
        self.screen = screen if screen is not None else Screen()

    def respond(self, message: _Message) -> Any:
        # `at` (when the customer wrote) is newer than this wrapper: without it the screen
        # takes the time of the customer-message write just made for this contact, or now.
        at = getattr(message, "at", None)
        at = float(at) if at is not None else None
        verdict = self.screen.check(message.phone_number_id, message.wa_id, message.text, at=at)
        if verdict is Verdict.ALLOW:
            return self.inner.respond(message)
        if verdict is Verdict.NOTICE:
            body = load_settings(message.phone_number_id).notice[:NOTICE_MAX]
            return ({"type": "text", "text": {"body": body}},)
        return ()

    def __getattr__(self, name: str) -> Any:
        # Anything else the inner responder offers (newer protocol members) stays reachable.
        return getattr(self.inner, name)
