"""The lake queried locally with DuckDB: the same SQL files Athena runs, over the same
gzipped JSON lines under the same ``events/day=YYYY-MM-DD/`` layout (docs/lake.md).

DuckDB is a development dependency (requirements-dev.txt), never in the layer: this
module is an operator's and a test's tool, imported only by them.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wacloud.lake.queries import render
from wacloud.lake.rows import COLUMNS, PARTITION_KEY

if TYPE_CHECKING:
    import duckdb

__all__ = ["EVENTS_PREFIX", "VIEW", "connect", "days", "download", "query"]

#: Where Firehose writes the rows in the lake bucket (template.yaml, LakeDeliveryStream).
EVENTS_PREFIX = "events/"
VIEW = "events"


def _columns_sql() -> str:
    return "{" + ", ".join(f"'{c.name}': '{c.duckdb}'" for c in COLUMNS) + "}"


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the view ``events`` over ``root/events/day=*/*.gz``,
    typed as the Glue table is (wacloud.lake.rows), ``day`` from the path as Athena's
    partition is."""
    import duckdb

    connection = duckdb.connect()
    files = sorted((root / EVENTS_PREFIX).glob(f"{PARTITION_KEY}=*/*.gz"))
    if files:
        source = (
            f"read_json({[str(f) for f in files]!r}, format='newline_delimited', "
            f"compression='gzip', hive_partitioning=true, "
            f"hive_types={{'{PARTITION_KEY}': 'VARCHAR'}}, columns={_columns_sql()})"
        )
        connection.execute(f"CREATE VIEW {VIEW} AS SELECT * FROM {source}")
    else:
        # No rows yet: the same columns, empty, so every query still runs.
        typed = ", ".join(f"CAST(NULL AS {c.duckdb}) AS {c.name}" for c in COLUMNS)
        connection.execute(
            f"CREATE VIEW {VIEW} AS SELECT {typed}, CAST(NULL AS VARCHAR) AS {PARTITION_KEY} "
            "WHERE false"
        )
    return connection


def query(name: str, root: Path, first: str, last: str) -> list[dict[str, Any]]:
    """Run a lake query (wacloud.lake.queries) over the files under ``root``."""
    connection = connect(root)
    try:
        cursor = connection.execute(render(name, VIEW), [first, last])
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    finally:
        connection.close()


def days(first: str, last: str) -> list[str]:
    """Every day from first to last (YYYY-MM-DD, inclusive)."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(n)).isoformat() for n in range((end - start).days + 1)]


def download(s3: Any, bucket: str, first: str, last: str, root: Path) -> int:
    """Copy the day partitions of a range from the lake bucket (AWS or the local stack's)
    to ``root``, keeping the key layout; returns the number of files. Only the days
    asked for are listed, as Athena's partition projection reads only those."""
    copied = 0
    paginator = s3.get_paginator("list_objects_v2")
    for day in days(first, last):
        prefix = f"{EVENTS_PREFIX}{PARTITION_KEY}={day}/"
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                target = root / item["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, item["Key"], str(target))
                copied += 1
    return copied
