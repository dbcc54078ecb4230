"""Per-number configuration an operator sets in the table (`TENANT#{pnid}`, sk `#`).

Fields the sender reads, all optional:
* `throughput_mps`  -- Meta's per-number throughput (80 default, up to 1,000, §4).
* `messaging_limit` -- unique recipients of business-initiated messages per moving 24 h
  (250 for a new portfolio, §4); `-1`, `0` or `"unlimited"` for no limit.
* `waba_id`         -- the WABA whose synced templates this number sends (else the
  Meta secret's `tenants` entry is used).

Read at most once a minute per warm Lambda: limits change rarely, and a stale value
for a minute only shifts pacing, never correctness.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from wacloud.infra.clock import now
from wacloud.infra.dynamo import get
from wacloud.outbound.ratelimit import DEFAULT_THROUGHPUT_MPS, MAX_THROUGHPUT_MPS

DEFAULT_MESSAGING_LIMIT = 250  # §4: a new business portfolio starts at 250
CACHE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class TenantConfig:
    throughput_mps: int = DEFAULT_THROUGHPUT_MPS
    messaging_limit: int | None = DEFAULT_MESSAGING_LIMIT
    waba_id: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> TenantConfig:
        if not item:
            return cls()
        return cls(
            throughput_mps=_throughput(item.get("throughput_mps")),
            messaging_limit=_limit(item.get("messaging_limit", DEFAULT_MESSAGING_LIMIT)),
            waba_id=str(item["waba_id"]) if item.get("waba_id") else None,
        )


def _throughput(value: Any) -> int:
    try:
        mps = int(value)
    except (TypeError, ValueError):
        return DEFAULT_THROUGHPUT_MPS
    return max(1, min(mps, MAX_THROUGHPUT_MPS))


def _limit(value: Any) -> int | None:
    # -1 is how Meta's business_capability_update spells "unlimited" (§3.7).
    if value is None or str(value).strip().lower() in ("unlimited", "-1", "0", ""):
        return None
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_MESSAGING_LIMIT


def tenant_pk(phone_number_id: str) -> str:
    return f"TENANT#{phone_number_id}"


_cache: dict[str, tuple[float, TenantConfig]] = {}
_lock = threading.Lock()


def load(phone_number_id: str) -> TenantConfig:
    with _lock:
        hit = _cache.get(phone_number_id)
    if hit and hit[0] > now():
        return hit[1]
    config = TenantConfig.from_item(get(tenant_pk(phone_number_id), consistent=False))
    with _lock:
        _cache[phone_number_id] = (now() + CACHE_SECONDS, config)
    return config


def clear_cache() -> None:
    with _lock:
        _cache.clear()
