"""A fact as one row of the lake: a flat JSON line with a fixed set of columns.

The row is what Athena (the Glue table in template.yaml) and DuckDB (wacloud.lake.duck)
read, so its columns are declared once here, each with its type in both engines, and
tests/unit/test_lake_schema.py holds the template's Glue columns and every Fact's fields
to this list. A column is a Fact field under its own name; the row adds ``type`` and
``day`` (the UTC day of ``at``: Firehose partitions by it, docs/lake.md).

What never enters the lake: the customer's number (``wa_id``, on most facts) and any
message text (no Fact carries text). Rows name messages by our id and Meta's wamid, which
identify no person without the state table; erasing a customer there leaves nothing in
the lake that names them. Absent (None) fields are left out of the line: both engines
read a missing key as NULL, and lines stay short (Athena bills bytes scanned).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from wacloud.models.facts import Fact

__all__ = [
    "COLUMNS",
    "EXCLUDED_FIELDS",
    "PARTITION_KEY",
    "Column",
    "day_of",
    "line",
    "lines",
    "row",
]

#: Fact fields that never reach the lake (phone numbers).
EXCLUDED_FIELDS = frozenset({"wa_id"})

#: The partition key: a directory level (``day=YYYY-MM-DD/``), not a column of the table.
PARTITION_KEY = "day"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    #: The Glue (Hive DDL) type Athena reads the JSON value as.
    glue: str
    #: The DuckDB type read_json reads it as (the same values).
    duckdb: str


_STRING = ("string", "VARCHAR")
_DOUBLE = ("double", "DOUBLE")
_BOOLEAN = ("boolean", "BOOLEAN")

COLUMNS: tuple[Column, ...] = tuple(
    Column(name, *types)
    for name, types in (
        # Every fact.
        ("id", _STRING),
        ("type", _STRING),
        ("phone_number_id", _STRING),
        ("at", _DOUBLE),
        # Messages.
        ("wamid", _STRING),
        ("message_id", _STRING),
        ("message_type", _STRING),
        ("previous", _STRING),
        ("status", _STRING),
        ("crossed", ("array<string>", "VARCHAR[]")),
        ("template_name", _STRING),
        ("template_language", _STRING),
        ("campaign_id", _STRING),
        ("variant", _STRING),
        ("error_codes", ("array<bigint>", "BIGINT[]")),
        ("pricing_category", _STRING),
        ("pricing_type", _STRING),
        ("pricing_model", _STRING),
        ("billable", _BOOLEAN),
        ("context_wamid", _STRING),
        ("context_message_id", _STRING),
        ("referral", _BOOLEAN),
        # Conversations.
        ("answered_wamid", _STRING),
        ("response_seconds", _DOUBLE),
        ("origin", _STRING),
        ("reason", _STRING),
        ("resolved_by", _STRING),
        ("agent", _STRING),
        ("handed_off", _BOOLEAN),
        ("first_response_seconds", _DOUBLE),
        ("resolution_seconds", _DOUBLE),
        ("score", _STRING),
        # Campaigns.
        ("counts", ("map<string,bigint>", "MAP(VARCHAR, BIGINT)")),
        # Templates.
        ("waba_id", _STRING),
        ("language", _STRING),
        ("quality", _STRING),
    )
)

_NAMES = frozenset(c.name for c in COLUMNS)


def day_of(at: float) -> str:
    """The UTC day (YYYY-MM-DD) of an epoch time: the row's partition."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def _value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


def row(fact: Fact) -> dict[str, Any]:
    """The fact as a lake row: its columns that have a value, plus ``type`` and ``day``.

    A field with no column fails here rather than vanishing from the lake unseen (the
    schema test catches it first; this guards a fact added without updating it).
    """
    out: dict[str, Any] = {"id": fact.id, "type": fact.type}
    for f in fields(fact):
        if f.name in EXCLUDED_FIELDS or f.name in out:
            continue
        if f.name not in _NAMES:
            raise ValueError(f"{fact.type}.{f.name} has no lake column (wacloud/lake/rows.py)")
        value = getattr(fact, f.name)
        if value is not None:
            out[f.name] = _value(value)
    out[PARTITION_KEY] = day_of(fact.at)
    return out


def line(fact: Fact) -> bytes:
    """One JSON line (newline-terminated, compact, UTF-8)."""
    import orjson

    return orjson.dumps(row(fact)) + b"\n"


def lines(facts: Iterable[Fact]) -> list[bytes]:
    return [line(f) for f in facts]
