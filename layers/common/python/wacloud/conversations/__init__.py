"""Conversations: who answers a customer, the bot or a person (issue #12, "Human handoff").

A conversation is handed to a person on a handoff keyword, the menu's "Talk to a
person", or the assistant's judgement (human request, complaint, low confidence,
errors); the business is told on its event bus and its operators' SNS topic; the
bot stays silent until a person releases it or the tenant's timeout passes.
State: wacloud.store.conversations (`{pnid}#CONV#{wa_id}`). The inbox (take, assign,
reply, resolve with a satisfaction survey): wacloud.conversations.inbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .events import HANDOFF_REQUESTED, RELEASED
from .handoff import HANDOFF_REASONS, in_handoff, release, request_handoff
from .inbox import (
    SURVEY_ANSWERS,
    AssignedToOtherError,
    MissingParamError,
    Resolved,
    WindowClosedError,
    assign,
    auto_assign,
    render_canned,
    reply,
    resolve,
    survey_message,
    take,
    validate_canned,
)
from .keywords import DEFAULT_KEYWORDS, find_keyword, fold, guess_language
from .notice import handoff_notice, is_open, next_opening
from .settings import HandoffSettings, from_assistant, load_handoff_settings, parse_hours

if TYPE_CHECKING:
    from .gate import HandoffGate


def __getattr__(name: str) -> Any:
    """`HandoffGate` loads on first use: it wraps the inbound responders (and their
    outbound message models), which the operator API's inbox routes never need."""
    if name == "HandoffGate":
        from .gate import HandoffGate

        return HandoffGate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_KEYWORDS",
    "HANDOFF_REASONS",
    "HANDOFF_REQUESTED",
    "RELEASED",
    "SURVEY_ANSWERS",
    "AssignedToOtherError",
    "HandoffGate",
    "HandoffSettings",
    "MissingParamError",
    "Resolved",
    "WindowClosedError",
    "assign",
    "auto_assign",
    "find_keyword",
    "fold",
    "from_assistant",
    "guess_language",
    "handoff_notice",
    "in_handoff",
    "is_open",
    "load_handoff_settings",
    "next_opening",
    "parse_hours",
    "release",
    "render_canned",
    "reply",
    "request_handoff",
    "resolve",
    "survey_message",
    "take",
    "validate_canned",
]
