"""Unique recipients of business-initiated messages per moving 24 h (messaging limit,
docs/meta/throughput.md).

Meta limits how many *different* users a business reaches outside a customer-service
window in a moving 24 hours (250 for a new portfolio, docs/meta/throughput.md) and documents no
error code for going over it (docs/meta/throughput.md GAP), so we must count ourselves and defer
before Meta silently drops or fails messages.

Two items per business number:
* a marker per recipient (`{pnid}#REACH#{wa_id}`) saying when it was last counted;
* a tally (`{pnid}#REACH`) of new recipients per hour slot, one number attribute per
  slot (`slot_{hour}`).

A new recipient takes a place by adding one to the current slot (an atomic ADD that
returns the whole tally), and gives it back at once if the tally is then over the
limit, so every sender sees a distinct total and at most `limit` places are ever
kept: no read-modify-write, so concurrent senders (a batch of ten, many Lambdas)
never contend or retry. It then writes its marker (conditional on no live marker);
if another sender marked the same recipient in between, the place is given back. A
crash between the two writes leaves one place taken for a day: the count errs high,
never low, so we never exceed Meta's limit. Hour slots make the window up to an hour
longer than 24 h: the stricter reading. Meta counts per portfolio since 2025-10-07;
we count per number, so each number gets its share of the portfolio limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, get, put, update

DAY = 86_400
SLOT = 3_600

logger = Logger(child=True)


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    new: bool  # this message counted a recipient not reached in the last 24 h
    wait: float  # when refused: seconds until the oldest slot leaves the window


def marker_pk(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}#REACH#{wa_id}"


def tally_pk(phone_number_id: str) -> str:
    return f"{phone_number_id}#REACH"


def load_tally(phone_number_id: str) -> dict[str, Any]:
    """The number's tally item (eventually consistent; empty when none)."""
    return get(tally_pk(phone_number_id), consistent=False) or {}


def live_slots(slots: dict[str, Any], at: float) -> dict[str, int]:
    """Hour slots still inside the window (pure)."""
    current = int(at // SLOT)
    return {k: int(v) for k, v in slots.items() if int(k) > current - DAY // SLOT}


def slots_of(tally: dict[str, Any]) -> dict[str, int]:
    """The tally item's slots as {hour: count} (pure)."""
    return {k[len(_SLOT) :]: int(v) for k, v in tally.items() if k.startswith(_SLOT)}


def used(tally: dict[str, Any], at: float) -> int:
    """Recipients counted in the window ending at `at` (pure)."""
    return sum(live_slots(slots_of(tally), at).values())


def wait_for_room(slots: dict[str, int], at: float) -> float:
    """Seconds until the oldest live slot leaves the window (pure)."""
    if not slots:
        return 0.0
    oldest = min(int(k) for k in slots)
    return max(1.0, (oldest + DAY // SLOT + 1) * SLOT - at)


def admit(phone_number_id: str, wa_id: str, limit: int | None) -> Admission:
    """Count `wa_id` as reached (if new) unless that would exceed `limit`."""
    if limit is None:
        return Admission(True, False, 0.0)
    at = now()
    marker = get(marker_pk(phone_number_id, wa_id), consistent=False)
    if marker and float(marker.get("reached_at", 0)) > at - DAY:
        return Admission(True, False, 0.0)
    slot = str(int(at // SLOT))
    tally = _add(phone_number_id, slot, 1)
    slots = live_slots(slots_of(tally), at)
    if sum(slots.values()) > limit:
        _add(phone_number_id, slot, -1)
        slots[slot] -= 1
        return Admission(False, False, wait_for_room({k: v for k, v in slots.items() if v}, at))
    if not _mark(phone_number_id, wa_id, at):
        _add(phone_number_id, slot, -1)  # another sender counted them just now
        return Admission(True, False, 0.0)
    _forget_stale(phone_number_id, tally, at)
    return Admission(True, True, 0.0)


_SLOT = "slot_"


def _add(phone_number_id: str, slot: str, delta: int) -> dict[str, Any]:
    """Add `delta` to one hour slot; the whole tally after the change."""
    expr = Expr().add(_SLOT + slot, delta)
    return update(tally_pk(phone_number_id), "#", expr, returns="ALL_NEW").attributes


def _mark(phone_number_id: str, wa_id: str, at: float) -> bool:
    """Record `wa_id` as reached at `at`, unless it already is (within the window)."""
    item = {
        "pk": marker_pk(phone_number_id, wa_id),
        "sk": "#",
        "reached_at": at,
        "expires_at": int(at + DAY + SLOT),
    }
    expr = Expr()
    return put(item, expr.when(f"attribute_not_exists(pk) OR reached_at < {expr.value(at - DAY)}"))


def _forget_stale(phone_number_id: str, tally: dict[str, Any], at: float) -> None:
    """Drop slots that left the window (about once an hour; best effort)."""
    live = live_slots(slots_of(tally), at)
    stale = [_SLOT + k for k in slots_of(tally) if k not in live]
    if not stale:
        return
    try:
        update(tally_pk(phone_number_id), "#", Expr().remove(*stale))
    except Exception:  # a later admission tries again
        logger.warning("could not drop stale reach slots", exc_info=True)
