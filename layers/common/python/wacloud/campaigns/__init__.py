"""Campaigns: one template to a list, paced, split A/B, counted (docs/campaigns.md).

The pydantic models (`CampaignSpec`, `Segment`, `Variant`) are loaded on first access
(PEP 562 ``__getattr__``), not with the package: the QueueProcessor fans out stored
campaigns every minute and never validates a spec, so its cold start does not pay
for pydantic; CampaignControl loads them with its first ``create``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wacloud.store.campaigns import CampaignStateError, is_halted

from .audience import create_from_csv, create_from_segment
from .counters import count_reply, count_status, stats
from .fanout import FanoutReport, run_fanout
from .pacing import set_messaging_limit
from .service import CampaignError, cancel, create_campaign, pause, resume

if TYPE_CHECKING:
    from .model import CampaignSpec, Segment, Variant

_MODELS = frozenset({"CampaignSpec", "Segment", "Variant"})


def __getattr__(name: str) -> Any:
    """The models, imported on first use (see the module docstring)."""
    if name in _MODELS:
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "create_from_csv",
    "create_from_segment",
    "is_halted",
    "pause",
    "resume",
    "run_fanout",
    "set_messaging_limit",
    "stats",
]
