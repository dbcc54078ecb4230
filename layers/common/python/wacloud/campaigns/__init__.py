"""Campaigns: one template to a list, paced, split A/B, counted (docs/campaigns.md)."""

from __future__ import annotations

from wacloud.store.campaigns import CampaignStateError, is_halted

from .counters import count_reply, count_status, stats
from .fanout import FanoutReport, run_fanout
from .model import CampaignSpec, Segment, Variant
from .pacing import set_messaging_limit
from .service import CampaignError, cancel, create_campaign, pause, resume

__all__ = [
    "CampaignError",
    "CampaignSpec",
    "CampaignStateError",
    "FanoutReport",
    "Segment",
    "Variant",
    "cancel",
    "count_reply",
    "count_status",
    "create_campaign",
    "is_halted",
    "pause",
    "resume",
    "run_fanout",
    "set_messaging_limit",
    "stats",
]
