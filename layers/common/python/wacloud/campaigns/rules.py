"""Campaign rules that need no validation: which variant, which segment, which number.

Plain functions over stored records (dicts), apart from the pydantic ``CampaignSpec``
(`model.py`), so the QueueProcessor's every-minute fan-out does not import pydantic:
it reads campaigns the CampaignControl function already validated and stored.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

# Campaigns default below transactional traffic (submissions default to 5), so a reply
# or a booking confirmation overtakes a bulk send in every queue we order.
CAMPAIGN_PRIORITY = 3

Status = Literal["scheduled", "running", "paused", "completed", "cancelled"]
ACTIVE: tuple[str, ...] = ("scheduled", "running", "paused")
FINAL: tuple[str, ...] = ("completed", "cancelled")


def pick_variant(campaign_id: str, wa_id: str, variants: list[dict[str, Any]]) -> dict[str, Any]:
    """Weighted and deterministic: the same recipient always gets the same variant, so
    a re-run slice (after a crash) never moves anyone between arms of the test."""
    total = sum(float(v.get("weight", 1)) for v in variants)
    digest = hashlib.sha256(f"{campaign_id}|{wa_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    for variant in variants:
        point -= float(variant.get("weight", 1))
        if point < 0:
            return variant
    return variants[-1]


def _as_tags(value: Any) -> set[str]:
    if isinstance(value, str):
        return {t.strip() for t in re.split(r"[|;,]", value) if t.strip()}
    if isinstance(value, list | set | tuple):
        return {str(t) for t in value}
    return set()


def subject(row: dict[str, Any], contact: dict[str, Any] | None) -> tuple[dict[str, Any], set[str]]:
    """Attributes and tags a segment is evaluated on (the row wins over the contact)."""
    attributes = dict((contact or {}).get("attributes") or {})
    attributes.update({k: v for k, v in row.items() if k != "tags"})
    tags = _as_tags((contact or {}).get("tags")) | _as_tags(row.get("tags"))
    return attributes, tags


def tags_match(segment: dict[str, Any], tags: set[str]) -> bool:
    """The segment's tag conditions (`tags_any`, `tags_all`, `tags_none`), one rule for
    a recipient list's rows and for known contacts (campaigns.audience)."""
    if segment.get("tags_any") and not tags & set(segment["tags_any"]):
        return False
    if segment.get("tags_all") and not set(segment["tags_all"]) <= tags:
        return False
    return not (segment.get("tags_none") and tags & set(segment["tags_none"]))


def in_segment(segment: dict[str, Any] | None, attributes: dict[str, Any], tags: set[str]) -> bool:
    if not segment:
        return True
    if not tags_match(segment, tags):
        return False
    for key, want in (segment.get("attributes") or {}).items():
        have = attributes.get(key)
        allowed = want if isinstance(want, list) else [want]
        if str(have) not in {str(a) for a in allowed}:
            return False
    return True


def recipient_wa_id(row: dict[str, Any]) -> str | None:
    """Digits of the row's number (`wa_id`, `to` or `phone` column)."""
    raw = row.get("wa_id") or row.get("to") or row.get("phone")
    if raw is None:
        return None
    digits = re.sub(r"[^0-9]", "", str(raw))
    return digits if 7 <= len(digits) <= 15 else None  # E.164: at most 15 digits
