"""Unique recipients of business-initiated messages per moving 24 h (messaging limit, §4).

Meta limits how many *different* users a business reaches outside a customer-service
window in a moving 24 hours (250 for a new portfolio, §4) and documents no error code
for going over it (§4 GAP), so we must count ourselves and defer before Meta silently
drops or fails messages.

Two items per business number:
* a marker per recipient (`{pnid}#REACH#{wa_id}`) saying when it was last counted;
* a tally (`{pnid}#REACH`) of new recipients per hour slot, with a version number.

A new recipient takes a place in the tally first (a conditional write on the tally's
version, so two senders can never both take the last place), then writes its marker
(conditional on no live marker). If another sender marked the same recipient in
between, the place is given back. A crash between the two writes leaves one place
taken for a day: the count errs high, never low, so we never exceed Meta's limit.
(One DynamoDB transaction could do both writes, at twice the write cost, and moto,
which the local stack runs on, copies the whole table per transaction.) Hour slots
make the window up to an hour longer than 24 h: the stricter reading. Meta counts per
portfolio since 2025-10-07; we count per number, so give each number its share of the
portfolio limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wacloud.aws import dynamodb
from wacloud.clock import now
from wacloud.store.dynamo import get, is_conditional_failure, marshal, table

DAY = 86_400
SLOT = 3_600
_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    new: bool  # this message counted a recipient not reached in the last 24 h
    wait: float  # when refused: seconds until the oldest slot leaves the window


def marker_pk(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}#REACH#{wa_id}"


def tally_pk(phone_number_id: str) -> str:
    return f"{phone_number_id}#REACH"


def live_slots(slots: dict[str, Any], at: float) -> dict[str, int]:
    """Hour slots still inside the window (pure)."""
    current = int(at // SLOT)
    return {k: int(v) for k, v in slots.items() if int(k) > current - DAY // SLOT}


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
    for _ in range(_ATTEMPTS):
        tally = get(tally_pk(phone_number_id)) or {}
        version = int(tally.get("version", 0))
        slots = live_slots(tally.get("slots") or {}, at)
        if sum(slots.values()) >= limit:
            return Admission(False, False, wait_for_room(slots, at))
        slot = str(int(at // SLOT))
        slots[slot] = slots.get(slot, 0) + 1
        if not _take_place(phone_number_id, slots, version):
            continue  # the tally moved under us: read it again
        if not _mark(phone_number_id, wa_id, at):
            _give_back(phone_number_id, slot)  # another sender counted them just now
            return Admission(True, False, 0.0)
        return Admission(True, True, 0.0)
    return Admission(False, False, 1.0)


def _take_place(phone_number_id: str, slots: dict[str, int], version: int) -> bool:
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": tally_pk(phone_number_id), "sk": "#"}),
            UpdateExpression="SET slots = :slots, version = :next",
            ConditionExpression="attribute_not_exists(version) OR version = :v",
            ExpressionAttributeValues=marshal(
                {":slots": slots, ":next": version + 1, ":v": version}
            ),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def _mark(phone_number_id: str, wa_id: str, at: float) -> bool:
    """Record `wa_id` as reached at `at`, unless it already is (within the window)."""
    try:
        dynamodb().put_item(
            TableName=table(),
            Item=marshal(
                {
                    "pk": marker_pk(phone_number_id, wa_id),
                    "sk": "#",
                    "reached_at": at,
                    "expires_at": int(at + DAY + SLOT),
                }
            ),
            ConditionExpression="attribute_not_exists(pk) OR reached_at < :cut",
            ExpressionAttributeValues=marshal({":cut": at - DAY}),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def _give_back(phone_number_id: str, slot: str) -> None:
    """Undo one place in `slot` (bumping the version so no stale tally overwrites it).

    Best effort: if it fails, the count stays one high, which is the safe side."""
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": tally_pk(phone_number_id), "sk": "#"}),
            UpdateExpression="SET slots.#s = slots.#s - :one, version = version + :one",
            ConditionExpression="slots.#s >= :one",
            ExpressionAttributeNames={"#s": slot},
            ExpressionAttributeValues=marshal({":one": 1}),
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
