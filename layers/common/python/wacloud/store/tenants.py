"""Per-number configuration an operator sets in the table (`TENANT#{pnid}`, sk `#`).

Fields the sender reads, all optional:
* `throughput_mps`  -- Meta's per-number throughput (80 default, up to 1,000,
docs/meta/throughput.md).
* `messaging_limit` -- unique recipients of business-initiated messages per moving 24 h
  (250 for a new portfolio, docs/meta/throughput.md); `-1`, `0` or `"unlimited"` for no limit.
* `waba_id`         -- the WABA whose synced templates this number sends (else the
  Meta secret's `tenants` entry is used).

Read at most once a minute per warm Lambda: limits change rarely, and a stale value
for a minute only shifts pacing, never correctness.

"Which WABA owns this number" has one answer, `waba_for` (the table's `waba_id`, then
the secret's), and "which numbers have a WABA" one list, `waba_numbers`, which the
template sync works from: a WABA set only in the table is synced too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, get, items, update
from wacloud.store.per_number_cache import PerNumberCache

if TYPE_CHECKING:
    from wacloud.infra.credentials import MetaCredentials

DEFAULT_THROUGHPUT_MPS = 80  # docs/meta/throughput.md: default per business phone number
MAX_THROUGHPUT_MPS = 1000  # docs/meta/throughput.md: after the automatic upgrade
DEFAULT_MESSAGING_LIMIT = 250  # docs/meta/throughput.md: a new business portfolio starts at 250
TENANT_PREFIX = "TENANT#"
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
    # -1 is how Meta's business_capability_update spells "unlimited"
    # (docs/meta/webhooks.md#other-fields).
    if value is None or str(value).strip().lower() in ("unlimited", "-1", "0", ""):
        return None
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_MESSAGING_LIMIT


def tenant_pk(phone_number_id: str) -> str:
    return f"{TENANT_PREFIX}{phone_number_id}"


_cache: PerNumberCache[TenantConfig] = PerNumberCache(
    CACHE_SECONDS,
    lambda: now(),  # noqa: PLW0108 (late-bound: tests replace this module's now)
)


def _read(phone_number_id: str) -> TenantConfig:
    return TenantConfig.from_item(get(tenant_pk(phone_number_id), consistent=False))


def load(phone_number_id: str) -> TenantConfig:
    return _cache.get(phone_number_id, _read)


def clear_cache() -> None:
    _cache.clear()


def set_messaging_limit(phone_number_id: str, limit: int | None) -> int | None:
    """Record a number's messaging limit (None or -1: unlimited) in its tenant config.

    Returns the limit it replaced, read by the same write, so the inbound owner can
    tell a downgrade (the alarm, docs/operations.md): -1 for unlimited, None when no
    limit was stored (the default applied, which nobody announced).

    For operators, and for the inbound owner on `business_capability_update`
    (`max_daily_conversations_per_business`; `..._per_phone` up to v23,
    docs/meta/webhooks.md#other-fields).
    """
    expr = Expr().set("messaging_limit", -1 if limit is None else limit)
    old = update(
        tenant_pk(phone_number_id),
        "#",
        expr.set("messaging_limit_at", now()),
        returns="UPDATED_OLD",
    ).attributes
    if "messaging_limit" not in old:
        return None
    previous = _limit(old["messaging_limit"])
    return -1 if previous is None else previous


def waba_for(phone_number_id: str, credentials: MetaCredentials | None = None) -> str | None:
    """The WABA whose templates this number sends: the tenant item's `waba_id`, else
    the Meta secret's `tenants.<pnid>.waba_id` (loaded when not given), else None."""
    waba = load(phone_number_id).waba_id
    if waba is None:
        if credentials is None:
            from wacloud.infra.credentials import load_credentials

            credentials = load_credentials()
        waba = credentials.waba_ids().get(phone_number_id)
    return waba


def table_wabas() -> dict[str, str]:
    """Phone number id -> WABA id for every tenant item that sets `waba_id`.

    Tenant items are written by operators under a key of their own (no index lists
    them), so this is a Scan of the table, filtered and projected to two attributes: a
    background read (TemplateSync, every 6 hours), never on a message's path. It
    reads the whole table each time (about 1 RCU per 8 KB eventually consistent).
    """
    expr = Expr()
    expr.filter(f"begins_with(pk, {expr.value(TENANT_PREFIX)})")
    expr.filter(f"attribute_exists({expr.name('waba_id')})")
    request = {"ProjectionExpression": f"pk, {expr.name('waba_id')}", **expr.params()}
    return {
        str(item["pk"]).removeprefix(TENANT_PREFIX): str(item["waba_id"])
        for item in items(request, scan=True)
        if item.get("waba_id")
    }


def waba_numbers(credentials: MetaCredentials) -> dict[str, str]:
    """Phone number id -> WABA id for every number whose WABA is known, answered as
    `waba_for` would (the table's `waba_id` over the secret's)."""
    return {**credentials.waba_ids(), **table_wabas()}
