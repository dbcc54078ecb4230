"""Daily aggregates per phone number, counted exactly once from facts; cost from Meta's
pricing times a rate card kept as data; reports for the operator API
(docs/analytics.md).

The Facts function hands every batch of facts to `record_facts`; the API reads the
reports below. Everything else in this package is internal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from wacloud.analytics.reports import (
    MAX_DAYS,
    RangeError,
    campaigns,
    conversations,
    cost,
    failures,
    funnel,
    templates,
)
from wacloud.models.facts import Fact, MessageStatusChanged

__all__ = [
    "MAX_DAYS",
    "RangeError",
    "campaigns",
    "conversations",
    "cost",
    "failures",
    "funnel",
    "record_facts",
    "templates",
]

logger = logging.getLogger(__name__)


def record_facts(facts: Sequence[Fact]) -> Any:
    """Count each fact once into its day's aggregates, then check the monthly cost
    alert of the numbers that had billable messages. Returns what was written
    (store.analytics.Recorded: counted, duplicates, transactions, calls)."""
    from wacloud.analytics import alert
    from wacloud.analytics.counting import count, is_billable
    from wacloud.analytics.rate_card import rate_card
    from wacloud.store import analytics as store

    card = rate_card()
    counted = [c for c in (count(f, card) for f in facts) if c.increments]
    recorded = store.record(counted, now=time.time())
    billed = {
        f.phone_number_id for f in facts if isinstance(f, MessageStatusChanged) and is_billable(f)
    }
    if billed:  # also when all were counted before: a retry sends a failed alert
        latest = max(f.at for f in facts if f.phone_number_id in billed)
        alert.check(billed, latest)
    if facts:
        logger.info(
            "facts counted",
            extra={
                "facts": len(facts),
                "counted": recorded.counted,
                "duplicates": recorded.duplicates,
                "transactions": recorded.transactions,
                "calls": recorded.calls,
            },
        )
    return recorded
