"""Time helpers: one place that says what "now" is, in the units records use."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


def iso(ts: float | None = None) -> str:
    """Millisecond ISO-8601 UTC, sortable as a string (used in sort keys)."""
    moment = datetime.fromtimestamp(now() if ts is None else ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
