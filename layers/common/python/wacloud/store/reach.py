"""Unique recipients of business-initiated messages per moving 24 h (messaging limit, §4).

Meta limits how many *different* users a business reaches outside a customer-service
window in a moving 24 hours (250 for a new portfolio, §4) and documents no error code
for going over it (§4 GAP), so we must count ourselves and defer before Meta silently
drops or fails messages.

Two items per business number:
* a marker per recipient (`{pnid}#REACH#{wa_id}`) saying when it was last counted;
* a tally (`{pnid}#REACH`) of new recipients per hour slot, with a version number.

A new recipient is admitted by one transaction that creates its marker and bumps the
tally only if the tally has not changed since we read it, so two senders can never
both take the last place. Hour slots make the window up to an hour longer than 24 h:
the stricter reading. Meta counts per portfolio since 2025-10-07; we count per number,
so give each number its share of the portfolio limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wacloud.aws import dynamodb
from wacloud.clock import now
from wacloud.store.dynamo import get, marshal, table

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
        try:
            dynamodb().transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table(),
                            "Item": marshal(
                                {
                                    "pk": marker_pk(phone_number_id, wa_id),
                                    "sk": "#",
                                    "reached_at": at,
                                    "expires_at": int(at + DAY + SLOT),
                                }
                            ),
                            "ConditionExpression": "attribute_not_exists(pk) OR reached_at < :cut",
                            "ExpressionAttributeValues": marshal({":cut": at - DAY}),
                        }
                    },
                    {
                        "Update": {
                            "TableName": table(),
                            "Key": marshal({"pk": tally_pk(phone_number_id), "sk": "#"}),
                            "UpdateExpression": "SET slots = :slots, version = :next",
                            "ConditionExpression": "attribute_not_exists(version) OR version = :v",
                            "ExpressionAttributeValues": marshal(
                                {":slots": slots, ":next": version + 1, ":v": version}
                            ),
                        }
                    },
                ]
            )
        except Exception as exc:
            reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
            if not reasons:
                raise
            if reasons[0].get("Code") == "ConditionalCheckFailed":
                return Admission(True, False, 0.0)  # another sender counted them just now
            continue  # the tally moved under us: read it again
        return Admission(True, True, 0.0)
    return Admission(False, False, 1.0)
