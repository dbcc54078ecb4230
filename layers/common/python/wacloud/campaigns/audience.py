"""Campaign audiences the operator API creates: an uploaded CSV, or a segment of the
number's known contacts (tags, attribute filters with numeric and date comparisons,
last seen before / after), written as a recipient list in S3 and then run by the
normal campaign machinery (`create_campaign`, the fan-out).

A segment is evaluated once, when the campaign is created, over the contacts index
(`store.segments`, contacts who have written to the number); the fan-out still skips
whoever is blocked or opted out by the time their turn comes. The list holds the
numbers only: the fan-out merges each contact's attributes in for the variables.

Order of work, so that nothing is half done on a refusal: validate the spec and check
the templates first, then write the list, then store the campaign (idempotent on its
id: a repeated create with the same id changes nothing).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from wacloud.infra.aws import s3
from wacloud.infra.clock import now
from wacloud.infra.config import settings
from wacloud.store import campaigns as store
from wacloud.store import segments

from . import recipients
from .rules import tags_match
from .service import CampaignError, _check_templates, create_campaign

CSV_MAX_BYTES = 5 * 1024 * 1024
_RELATIVE = re.compile(r"^(\d{1,5})([dhm])$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60}
ATTRIBUTE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "before", "after", "exists")


def parse_when(value: Any, at: float) -> float | None:
    """A time given as epoch seconds, ISO-8601 (a date alone is midnight UTC) or an age
    (`90d`, `12h`, `30m`: that long before `at`). None when it is none of those."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    relative = _RELATIVE.match(text)
    if relative:
        return at - int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def attribute_matches(rule: dict[str, Any], attributes: dict[str, Any], at: float) -> bool:
    """One `{"name", "op", "value"}` filter against a contact's attributes."""
    op, want = rule["op"], rule.get("value")
    present = rule["name"] in attributes and attributes[rule["name"]] is not None
    have = attributes.get(rule["name"])
    if op == "exists":
        return bool(present == (want is not False))
    if not present:
        return bool(op == "ne")
    if op in ("eq", "ne"):
        a, b = _number(have), _number(want)
        same = a == b if a is not None and b is not None else str(have) == str(want)
        return same if op == "eq" else not same
    if op in ("before", "after"):
        a, b = parse_when(have, at), parse_when(want, at)
        if a is None or b is None:
            return False
        return a < b if op == "before" else a > b
    a, b = _number(have), _number(want)
    if a is None or b is None:
        return False
    return bool({"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op])


def matches(segment: dict[str, Any], contact: dict[str, Any], at: float) -> bool:
    """Whether a contact item belongs to the segment (every given condition holds)."""
    if not tags_match(segment, {str(t) for t in contact.get("tags") or ()}):
        return False
    opted_out = segment.get("opted_out")
    if opted_out is not None and bool(contact.get("opted_out_marketing")) != opted_out:
        return False
    attributes = contact.get("attributes") or {}
    return all(attribute_matches(r, attributes, at) for r in segment.get("attributes") or ())


def segment_range(segment: dict[str, Any], at: float) -> tuple[float | None, float | None]:
    """(last seen before, last seen after) as epoch seconds; CampaignError if unreadable."""
    bounds: list[float | None] = []
    for field in ("last_seen_before", "last_seen_after"):
        raw = segment.get(field)
        when = parse_when(raw, at) if raw is not None else None
        if raw is not None and when is None:
            raise CampaignError(f"segment.{field}: not a time (epoch, ISO-8601 or 90d)")
        bounds.append(when)
    return bounds[0], bounds[1]


def segment_wa_ids(phone_number_id: str, segment: dict[str, Any], at: float) -> list[str]:
    """The numbers of the number's indexed contacts in the segment, newest first."""
    return [str(row["wa_id"]) for row in segment_rows(phone_number_id, segment, at)]


def segment_rows(phone_number_id: str, segment: dict[str, Any], at: float) -> list[dict[str, Any]]:
    """The segment as recipient rows: the number, the customer's WhatsApp profile name
    and the contact's attributes, so a variant's variables (`{profile_name}`, `{city}`)
    render from what the business knows, as a CSV's columns do."""
    before, after = segment_range(segment, at)
    rows = []
    for contact in segments.contacts(phone_number_id, seen_before=before, seen_after=after):
        if not contact.get("wa_id") or not matches(segment, contact, at):
            continue
        attributes = contact.get("attributes") or {}
        row: dict[str, Any] = {str(k): v for k, v in attributes.items()}
        row["profile_name"] = str(contact.get("profile_name") or "")
        row["wa_id"] = str(contact["wa_id"])
        rows.append(row)
    return rows


def _prepare(spec: dict[str, Any], suffix: str) -> tuple[Any, str, str]:
    """Validated spec (pointing at the list key it will have), campaign id, bucket."""
    from .model import CampaignSpec

    pnid = str(spec.get("phone_number_id"))
    campaign_id = spec.get("campaign_id") or store.new_campaign_id()
    key = f"{recipients.PREFIX}{pnid}/{campaign_id}.{suffix}"
    validated = CampaignSpec.model_validate(
        {**spec, "campaign_id": campaign_id, "recipients": None, "recipients_s3_key": key}
    )
    bucket = settings().require(settings().media_bucket, "MEDIA_BUCKET")
    return validated, str(campaign_id), bucket


def existing(phone_number_id: str, campaign_id: str | None) -> bool:
    return bool(campaign_id) and store.load(phone_number_id, str(campaign_id)) is not None


def create_from_csv(spec: dict[str, Any], csv_text: str) -> str:
    """A campaign over an uploaded CSV (header row with a wa_id, to or phone column)."""
    if existing(str(spec.get("phone_number_id")), spec.get("campaign_id")):
        return str(spec["campaign_id"])
    data = csv_text.encode()
    if len(data) > CSV_MAX_BYTES:
        raise CampaignError(f"recipients.csv: larger than {CSV_MAX_BYTES} bytes")
    validated, _, bucket = _prepare(spec, "csv")
    header = data.split(b"\n", 1)[0].decode("utf-8-sig").lower()
    if not {"wa_id", "to", "phone"} & {c.strip().strip('"') for c in header.split(",")}:
        raise CampaignError("recipients.csv: the header needs a wa_id, to or phone column")
    _check_templates(validated)
    s3().put_object(
        Bucket=bucket, Key=validated.recipients_s3_key, Body=data, ContentType="text/csv"
    )
    return create_campaign(validated)


def create_from_segment(spec: dict[str, Any], segment: dict[str, Any]) -> tuple[str, int]:
    """A campaign over the number's contacts in `segment`: (campaign id, recipients)."""
    pnid = str(spec.get("phone_number_id"))
    if existing(pnid, spec.get("campaign_id")):
        return str(spec["campaign_id"]), -1
    validated, campaign_id, bucket = _prepare(spec, "jsonl")
    _check_templates(validated)
    rows = segment_rows(pnid, segment, now())
    if not rows:
        raise CampaignError("recipients.segment: no contact matches the segment")
    recipients.write_inline(bucket, str(validated.recipients_s3_key), rows)
    create_campaign(validated)
    store.note_audience(pnid, campaign_id, {"segment": segment, "recipients": len(rows)})
    return campaign_id, len(rows)
