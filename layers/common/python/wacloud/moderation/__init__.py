"""Moderation: a per-contact inbound rate limit, an abuse score, and blocks.

A customer who writes too fast gets one polite notice a burst, then silence; rate,
repeated texts, links and the assistant's spam verdict (`report_spam`) add to a score
that decays over time; at the tenant's threshold the contact is blocked for a while, in
our state and at Meta's Block API (docs/meta/blocking.md), and the QueueProcessor's
housekeeping ends the block when it is due (`lift_block`). Operators block and unblock
by hand through ContactControl. State and keys: wacloud.store.moderation.
"""

from __future__ import annotations

from wacloud.moderation.actions import (
    BlockOutcome,
    block,
    blocked_at_meta,
    lift_block,
    list_blocks,
    report_spam,
    unblock,
)
from wacloud.moderation.responder import ScreenedResponder
from wacloud.moderation.screen import Screen, Verdict
from wacloud.store.moderation import ModerationSettings, load_settings, save_settings

__all__ = [
    "BlockOutcome",
    "ModerationSettings",
    "Screen",
    "ScreenedResponder",
    "Verdict",
    "block",
    "blocked_at_meta",
    "lift_block",
    "list_blocks",
    "load_settings",
    "report_spam",
    "save_settings",
    "unblock",
]
