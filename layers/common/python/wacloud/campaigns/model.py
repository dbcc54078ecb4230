"""Campaigns as data: what to send, to whom, in what split. No I/O here.

A campaign sends one template message to each recipient of a list (inline, or a CSV
/ JSON Lines object in S3), optionally narrowed by a segment filter on contact
attributes and tags, split between weighted variants (A/B), from a start time.

Cold start: every model sets ``defer_build`` (its validator is built on first use, not
at import) and the module does not use ``from __future__ import annotations`` (pydantic
would otherwise ``eval`` every annotation string while creating each class).

The rules applied to stored campaigns (variant choice, segments, numbers) are plain
functions in `rules.py`, re-exported here.
"""

import re
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .rules import (
    ACTIVE,
    CAMPAIGN_PRIORITY,
    FINAL,
    Status,
    in_segment,
    pick_variant,
    recipient_wa_id,
    subject,
)

_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")] = "A"
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=512)]
    language: Annotated[str, Field(min_length=2, max_length=15)] = "en_US"
    weight: Annotated[float, Field(gt=0)] = 1.0
    # {"body": ["{first_name}", ...] | {"name": "{field}"}, "header": ..., "buttons": [...]}
    variables: dict[str, Any] | None = None


class Segment(BaseModel):
    """All given conditions must hold. Tags and attributes come from the contact
    record (`tags`, `attributes`) merged with the recipient's own row."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    tags_any: list[str] = Field(default_factory=list)
    tags_all: list[str] = Field(default_factory=list)
    tags_none: list[str] = Field(default_factory=list)
    # Equality; a list means "any of these values".
    attributes: dict[str, Any] = Field(default_factory=dict)


class CampaignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

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
    def _check(self) -> Self:
        if (self.recipients is None) == (self.recipients_s3_key is None):
            raise ValueError("give exactly one of recipients or recipients_s3_key")
        if self.campaign_id is not None and not _ID.match(self.campaign_id):
            raise ValueError("campaign_id: 1-64 of A-Z a-z 0-9 _ -")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        return self


def start_time(spec: CampaignSpec, default: float) -> float:
    started: datetime | None = spec.start_at
    return started.timestamp() if started else default


__all__ = [
    "ACTIVE",
    "CAMPAIGN_PRIORITY",
    "FINAL",
    "CampaignSpec",
    "Segment",
    "Status",
    "Variant",
    "in_segment",
    "pick_variant",
    "recipient_wa_id",
    "start_time",
    "subject",
]
