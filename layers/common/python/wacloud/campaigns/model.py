"""Campaigns as data: what to send, to whom, in what split. No I/O here.

A campaign sends one template message to each recipient of a list (inline, or a CSV
/ JSON Lines object in S3), optionally narrowed by a segment filter on contact
attributes and tags, split between weighted variants (A/B), from a start time.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
# Campaigns default below transactional traffic (submissions default to 5), so a reply
# or a booking confirmation overtakes a bulk send in every queue we order.
CAMPAIGN_PRIORITY = 3

Status = Literal["scheduled", "running", "paused", "completed", "cancelled"]
ACTIVE: tuple[str, ...] = ("scheduled", "running", "paused")
FINAL: tuple[str, ...] = ("completed", "cancelled")


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")] = "A"
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=512)]
    language: Annotated[str, Field(min_length=2, max_length=15)] = "en_US"
    weight: Annotated[float, Field(gt=0)] = 1.0
    # {"body": ["{first_name}", ...] | {"name": "{field}"}, "header": ..., "buttons": [...]}
    variables: dict[str, Any] | None = None


class Segment(BaseModel):
    """All given conditions must hold. Tags and attributes come from the contact
    record (`tags`, `attributes`) merged with the recipient's own row."""

    model_config = ConfigDict(extra="forbid")

    tags_any: list[str] = Field(default_factory=list)
    tags_all: list[str] = Field(default_factory=list)
    tags_none: list[str] = Field(default_factory=list)
    # Equality; a list means "any of these values".
    attributes: dict[str, Any] = Field(default_factory=dict)


class CampaignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone_number_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    campaign_id: str | None = None
    name: str = ""
    waba_id: str | None = None  # to check templates against the mirror
    variants: Annotated[list[Variant], Field(min_length=1, max_length=10)]
    segment: Segment | None = None
    start_at: AwareDatetime | None = None
    priority: Annotated[int, Field(ge=0, le=9)] = CAMPAIGN_PRIORITY
    # Optional cap below the number's pacing (messages per minute).
    max_per_minute: Annotated[int, Field(ge=1)] | None = None
    marketing: bool | None = None  # None: from the template's category in the mirror
    # Recipients: exactly one of inline rows or an S3 object in the media bucket.
    recipients: list[dict[str, Any]] | None = None
    recipients_s3_key: str | None = None

    @model_validator(mode="after")
    def _check(self) -> CampaignSpec:
        if (self.recipients is None) == (self.recipients_s3_key is None):
            raise ValueError("give exactly one of recipients or recipients_s3_key")
        if self.campaign_id is not None and not _ID.match(self.campaign_id):
            raise ValueError("campaign_id: 1-64 of A-Z a-z 0-9 _ -")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        return self


# ------------------------------------------------------------------ pure rules
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


def in_segment(segment: dict[str, Any] | None, attributes: dict[str, Any], tags: set[str]) -> bool:
    if not segment:
        return True
    if segment.get("tags_any") and not tags & set(segment["tags_any"]):
        return False
    if segment.get("tags_all") and not set(segment["tags_all"]) <= tags:
        return False
    if segment.get("tags_none") and tags & set(segment["tags_none"]):
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


def start_time(spec: CampaignSpec, default: float) -> float:
    started: datetime | None = spec.start_at
    return started.timestamp() if started else default
