"""Moderation state: per-tenant settings, the contact's inbound rate and abuse score, blocks.

Keys (README "State"):

* settings: `TENANT#{pnid}`, sk `MODERATION` -- `rate_per_minute`, `threshold`,
  `half_life_seconds`, `block_seconds`, `notice` (all optional; defaults below). Read at
  most once a minute per warm Lambda.
* on the contact item `{pnid}#C#{wa_id}`, sk `#`:
  - `mod_r0` .. `mod_r{RATE_SLOTS-1}`: the messages of the current minute, in the slot
    `minute % RATE_SLOTS`. Written by `contacts.record_customer_message` (the UpdateItem
    every customer message already costs): it ADDs one to the minute's slot and REMOVEs
    every other slot, so at most one slot exists. It returns the contact as it was
    (`ALL_OLD`): the previous `last_seen` says whether the old slot value is this
    minute's. Only when the previous message came a multiple of RATE_SLOTS minutes
    earlier does the slot hold a stale count, and one more write resets it.
  - `mod_score`, `mod_score_at`: the abuse score at that time; it halves every
    `half_life_seconds` (read-modify-write, only when a message adds to it).
  - `mod_digest`: a short keyed hash of the last text seen in a burst (never the text).
  - `mod_notice_minute`: the minute a "you are sending too fast" notice was sent.
  - `blocked`, `blocked_at`, `blocked_reason`, `blocked_by`, `blocked_until`,
    `meta_blocked` (also blocked at Meta's Block API), and for a block with an end the
    `due` index keys `HK` / `{iso until}#{pk}` (see store/due.py), which the
    QueueProcessor's housekeeping reads.

The contact returned by the customer-message write is kept for the rest of the
invocation (`note_customer_message` / `take_customer_message`), so screening a message
costs no read.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, fields
from typing import Any

from wacloud.infra.clock import iso, now
from wacloud.infra.dynamo import Expr, batch_get, conditional_update, get, put, query, update
from wacloud.store.contacts import contact_pk
from wacloud.store.due import HOUSEKEEPING_PARTITION
from wacloud.store.per_number_cache import PerNumberCache
from wacloud.store.tenants import tenant_pk

SETTINGS_SK = "MODERATION"
RATE_SLOTS = 30
RATE_PREFIX = "mod_r"
CACHE_SECONDS = 60.0
# How many contacts noted by customer-message writes are kept for the screen that
# follows in the same invocation (a batch holds at most 10 SQS records).
_NOTED_MAX = 256
_NOTED_FRESH_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ModerationSettings:
    """A tenant's moderation settings; every field has a default."""

    rate_per_minute: int = 8  # messages a minute before the notice, then silence
    threshold: float = 10.0  # score at which the contact is blocked
    half_life_seconds: float = 600.0  # the score halves every 10 minutes
    block_seconds: int = 3600  # how long an automatic block lasts
    enabled: bool = True
    notice: str = (
        "You are sending messages too fast. Please wait a moment; we will read "
        "everything you send after that."
    )

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> ModerationSettings:
        if not item:
            return cls()
        default = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = item.get(f.name)
            if raw is None:
                continue
            kind = type(getattr(default, f.name))
            try:
                values[f.name] = raw if kind is bool and isinstance(raw, bool) else kind(raw)
            except (TypeError, ValueError):
                continue
        return cls(**values)


_cache: PerNumberCache[ModerationSettings] = PerNumberCache(
    CACHE_SECONDS,
    lambda: now(),  # noqa: PLW0108 (late-bound: tests replace this module's now)
)
_noted: dict[tuple[str, str], tuple[float, int, dict[str, Any], float, bool]] = {}
_lock = threading.Lock()


def _read_settings(phone_number_id: str) -> ModerationSettings:
    return ModerationSettings.from_item(
        get(tenant_pk(phone_number_id), SETTINGS_SK, consistent=False)
    )


def load_settings(phone_number_id: str) -> ModerationSettings:
    return _cache.get(phone_number_id, _read_settings)


def save_settings(phone_number_id: str, values: dict[str, Any]) -> ModerationSettings:
    """Replace a tenant's moderation settings (unknown keys are refused)."""
    known = {f.name for f in fields(ModerationSettings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown moderation settings: {sorted(unknown)}")
    config = ModerationSettings.from_item(values)
    put({"pk": tenant_pk(phone_number_id), "sk": SETTINGS_SK, **values})
    _cache.put(phone_number_id, config)
    return config


def clear_cache() -> None:
    _cache.clear()
    with _lock:
        _noted.clear()


# ------------------------------------------------------------------ rate, on the contact write
def minute_of(at: float) -> int:
    return int(at // 60)


def rate_slot(at: float) -> str:
    return f"{RATE_PREFIX}{minute_of(at) % RATE_SLOTS}"


def other_rate_slots(at: float) -> list[str]:
    current = rate_slot(at)
    return [f"{RATE_PREFIX}{i}" for i in range(RATE_SLOTS) if f"{RATE_PREFIX}{i}" != current]


def messages_this_minute(old: dict[str, Any], at: float) -> tuple[int, bool]:
    """(count including this message, stale) from the contact as it was before the
    write that ADDed one to this minute's slot. ``stale``: the slot held an older
    minute's count, which the caller resets (`reset_rate_slot`)."""
    previous = old.get(rate_slot(at))
    last_seen = old.get("last_seen")
    same_minute = last_seen is not None and minute_of(float(last_seen)) == minute_of(at)
    if previous is None:
        return 1, False
    if same_minute:
        return int(previous) + 1, False
    return 1, True


def reset_rate_slot(phone_number_id: str, wa_id: str, at: float, written: int) -> None:
    """Set this minute's slot to 1 where it still holds the stale sum just written."""
    expr = Expr().set(rate_slot(at), 1)
    expr.when(f"{expr.name(rate_slot(at))} = {expr.value(written)}")
    conditional_update(contact_pk(phone_number_id, wa_id), "#", expr)


def note_customer_message(
    phone_number_id: str,
    wa_id: str,
    at: float,
    count: int,
    old: dict[str, Any],
    *,
    duplicate: bool = False,
) -> None:
    """Keep what the customer-message write returned for the screen of this message.
    ``duplicate``: the same message again (Meta redelivers webhooks): not the
    customer writing, so the screen neither counts nor scores it."""
    with _lock:
        if len(_noted) >= _NOTED_MAX:
            _noted.clear()
        _noted[(phone_number_id, wa_id)] = (at, count, old, time.monotonic(), duplicate)


def take_customer_message(
    phone_number_id: str, wa_id: str, at: float | None
) -> tuple[float, int, dict[str, Any], bool] | None:
    """(the message's time, messages this minute, the contact before the write, whether
    it was a redelivery of the contact's last message) if this message's write ran in
    this process; None otherwise (the screen then counts by itself). Without `at` (a
    caller that does not know the message's time), the note made for the contact in
    the last few seconds is taken: the write and the screen of one message run back to
    back in one invocation."""
    with _lock:
        hit = _noted.get((phone_number_id, wa_id))
        if hit is None:
            return None
        fresh = time.monotonic() - hit[3] <= _NOTED_FRESH_SECONDS
        if (at is not None and hit[0] != at) or (at is None and not fresh):
            return None
        del _noted[(phone_number_id, wa_id)]
    return hit[0], hit[1], hit[2], hit[4]


def uncount_message(phone_number_id: str, wa_id: str, at: float) -> None:
    """Take back the one the customer-message write added to this minute for a
    redelivered message (one UpdateItem, only for redeliveries)."""
    update(contact_pk(phone_number_id, wa_id), "#", Expr().add(rate_slot(at), -1))


def count_message(phone_number_id: str, wa_id: str, at: float) -> tuple[int, dict[str, Any]]:
    """Count a message into its minute when the customer-message write did not (one
    UpdateItem); returns (messages this minute, the contact before the write)."""
    expr = Expr().add(rate_slot(at), 1).remove(*other_rate_slots(at))
    expr.set("last_seen_screened", at)
    old = update(contact_pk(phone_number_id, wa_id), "#", expr, returns="ALL_OLD").attributes
    seen = [float(old[k]) for k in ("last_seen", "last_seen_screened") if old.get(k) is not None]
    probe = dict(old, last_seen=max(seen) if seen else None)
    count, stale = messages_this_minute(probe, at)
    if stale:
        reset_rate_slot(phone_number_id, wa_id, at, int(old[rate_slot(at)]) + 1)
    return count, old


# ------------------------------------------------------------------ score
def save_score(
    phone_number_id: str,
    wa_id: str,
    *,
    score: float,
    at: float,
    digest: str | None,
    notice_minute: int | None = None,
) -> None:
    """Store the score (as of `at`), the burst's last text digest and the notice minute."""
    expr = Expr().set("mod_score", round(score, 4)).set("mod_score_at", at)
    if digest is not None:
        expr.set("mod_digest", digest)
    if notice_minute is not None:
        expr.set("mod_notice_minute", notice_minute)
    update(contact_pk(phone_number_id, wa_id), "#", expr)


def claim_notice(phone_number_id: str, wa_id: str, minute: int) -> bool:
    """True once per minute: the one "too fast" notice of a burst (concurrent deliveries
    of the same burst cannot both send it)."""
    expr = Expr().set("mod_notice_minute", minute)
    expr.when(
        f"attribute_not_exists({expr.name('mod_notice_minute')}) OR "
        f"{expr.name('mod_notice_minute')} < {expr.value(minute)}"
    )
    return conditional_update(contact_pk(phone_number_id, wa_id), "#", expr)


# ------------------------------------------------------------------ blocks
def _housekeeping_sk(until: float, pk: str) -> str:
    return f"{iso(until)}#{pk}"


def set_block(
    phone_number_id: str,
    wa_id: str,
    *,
    until: float | None,
    reason: str,
    by: str,
    meta_blocked: bool,
    at: float,
) -> None:
    """Block the contact in our state; with `until`, housekeeping ends it then."""
    pk = contact_pk(phone_number_id, wa_id)
    expr = Expr().set_fields(
        {
            "blocked": True,
            "blocked_at": at,
            "blocked_reason": reason,
            "blocked_by": by,
            "meta_blocked": meta_blocked,
            "wa_id": wa_id,
            "phone_number_id": phone_number_id,
            "mod_score": 0,
            "mod_score_at": at,
        }
    )
    if until is None:
        expr.remove("blocked_until", "due_pk", "due_sk")
    else:
        expr.set_fields(
            {
                "blocked_until": until,
                "due_pk": HOUSEKEEPING_PARTITION,
                "due_sk": _housekeeping_sk(until, pk),
            }
        )
    update(pk, "#", expr)


def clear_block(
    phone_number_id: str, wa_id: str, *, reason: str, by: str, at: float, due_before: float | None
) -> bool:
    """Lift the block in our state. With `due_before` (the sweep), only if the block is
    still due by then: False when it was extended or lifted meanwhile."""
    expr = Expr().set_fields(
        {"blocked": False, "blocked_at": at, "blocked_reason": reason, "blocked_by": by}
    )
    expr.set("meta_blocked", False).remove("blocked_until", "due_pk", "due_sk")
    if due_before is not None:
        expr.when(f"{expr.name('blocked_until')} <= {expr.value(due_before)}")
    return conditional_update(contact_pk(phone_number_id, wa_id), "#", expr)


def postpone_block_end(phone_number_id: str, wa_id: str, *, seen_until: float, to: float) -> bool:
    """Move a due block's end to `to` (Meta's unblock failed for now: keep our block as
    long as Meta's stands, and try again then)."""
    pk = contact_pk(phone_number_id, wa_id)
    expr = Expr().set_fields(
        {"blocked_until": to, "due_pk": HOUSEKEEPING_PARTITION, "due_sk": _housekeeping_sk(to, pk)}
    )
    expr.when(f"{expr.name('blocked_until')} = {expr.value(seen_until)}")
    return conditional_update(pk, "#", expr)


def blocked_contacts(phone_number_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """Contacts of a number whose block ends at a set time (the `HK` index), soonest
    end first. Permanent blocks are not indexed: Meta's list (`blocked_users`) has them."""
    prefix = f"{phone_number_id}#C#"
    keys = [
        (str(k["pk"]), str(k["sk"]))
        for k in query(HOUSEKEEPING_PARTITION, index="due", key_attr="due_pk")
        if str(k.get("pk", "")).startswith(prefix)
    ][:limit]
    found = batch_get(keys)  # the index holds keys only
    return [found[k] for k in keys if k in found and found[k].get("blocked")]


def load_contact(phone_number_id: str, wa_id: str) -> dict[str, Any] | None:
    return get(contact_pk(phone_number_id, wa_id), "#")


def block_until_of(item: dict[str, Any]) -> float | None:
    until = item.get("blocked_until")
    return float(until) if until is not None else None
