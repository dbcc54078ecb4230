"""How many campaign messages a number may start this run (docs/meta/throughput.md).

Two limits bind bulk sends, and the sender enforces both per message (it defers
what would break them). Pacing here keeps a campaign from flooding the sender with
messages it can only defer:
* Throughput: 80 messages/s per number by default (inbound and outbound together),
  up to 1,000 after Meta's upgrade; the number's figure is the tenant's
  `throughput_mps`. Campaigns take at most half of it, capped by `CAMPAIGN_MPS`
  (default 40), so replies and transactional sends keep headroom; a run's messages
  are spread over the period with SQS delays rather than sent in a burst.
* Messaging limit: unique users reached outside a customer-service window in a
  moving 24 h (250 for a new portfolio, then 2,000 / 10,000 / 100,000 / unlimited).
  The sender counts reached users (store/reach.py) against the tenant's
  `messaging_limit`; a run queues no more than the room left in that count. Every
  campaign recipient is assumed to be new and outside the window: the stricter
  reading, which can only slow a campaign, never get the number over its limit.
"""

from __future__ import annotations

from typing import Any

from wacloud.infra.config import settings
from wacloud.store import reach, tenants

RUN_SECONDS = 60  # QueueProcessor rate(1 minute)


def campaign_mps(phone_number_id: str) -> float:
    share = settings().campaign_mps
    return max(1.0, min(share, tenants.load(phone_number_id).throughput_mps / 2))


def set_messaging_limit(phone_number_id: str, limit: int | None) -> int | None:
    """Record a number's messaging limit (None or -1: unlimited) and return the one it
    replaced (-1 unlimited, None never stored); see
    `wacloud.store.tenants.set_messaging_limit`, which callers should use."""
    return tenants.set_messaging_limit(phone_number_id, limit)


def reach_room(phone_number_id: str, at: float) -> int | None:
    """Unique recipients the number may still reach in the moving 24 h (None: no limit)."""
    limit = tenants.load(phone_number_id).messaging_limit
    if limit is None:
        return None
    used = reach.used(reach.load_tally(phone_number_id), at)
    return max(0, limit - used)


def run_budget(phone_number_id: str, at: float, run_seconds: float = RUN_SECONDS) -> dict[str, Any]:
    """Messages this number's campaigns may queue in one run, and why."""
    mps = campaign_mps(phone_number_id)
    by_rate = int(mps * run_seconds)
    room = reach_room(phone_number_id, at)
    budget = by_rate if room is None else min(by_rate, room)
    return {"budget": budget, "mps": mps, "rate": by_rate, "tier_left": room}


def delay_for(index: int, mps: float) -> int:
    """SQS delay for the index-th message of a run: spreads the run at `mps`."""
    return min(899, int(index / max(mps, 0.001)))
