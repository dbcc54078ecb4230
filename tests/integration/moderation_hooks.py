"""Preload hook for the InboundProcessor's worker: screen its responder with moderation.

Until the inbound wiring composes `ScreenedResponder` itself (functions/inbound_processor,
owned by the handoff work), this wraps the configured responder the same way, so the
local stack exercises the real screen, store and Block API calls.
"""

from __future__ import annotations

from typing import Any


def screen_responses() -> None:
    from wacloud.inbound import responder
    from wacloud.moderation import ScreenedResponder

    configured = responder.configured_responder
    if getattr(configured, "_screened", False):
        return

    def screened() -> Any:
        return ScreenedResponder(configured())

    screened._screened = True  # type: ignore[attr-defined]
    responder.configured_responder = screened
