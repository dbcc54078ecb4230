"""The lake queried on AWS: the same SQL files, run by Athena in the stack's workgroup
over the Glue table (template.yaml; docs/lake.md, "Athena").

An operator's tool (``python -m wacloud.lake ... --athena``), not part of any function.
Polling the query's state is how Athena is used: a query runs asynchronously and
StartQueryExecution only returns its id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from wacloud.lake.queries import render

__all__ = ["AthenaQueryError", "query"]

_NUMBERS = {"tinyint": int, "smallint": int, "integer": int, "bigint": int, "double": float}


class AthenaQueryError(RuntimeError):
    """Athena failed or cancelled the query (its reason, which names no customer)."""


def _value(datum: dict[str, Any], kind: str) -> Any:
    if "VarCharValue" not in datum:
        return None
    text = datum["VarCharValue"]
    if kind in _NUMBERS:
        return _NUMBERS[kind](text)
    if kind == "boolean":
        return text == "true"
    return text


def query(
    name: str,
    *,
    database: str,
    table: str,
    workgroup: str,
    first: str,
    last: str,
    client: Any = None,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """Run a lake query on Athena and return its rows, typed from the result metadata."""
    for day in (first, last):
        date.fromisoformat(day)  # a day, nothing else, goes into the parameters
    if client is None:
        from wacloud.infra.aws import athena

        client = athena()
    execution = client.start_query_execution(
        QueryString=render(name, f'"{database}"."{table}"'),
        QueryExecutionContext={"Database": database},
        WorkGroup=workgroup,
        ExecutionParameters=[f"'{first}'", f"'{last}'"],
    )["QueryExecutionId"]
    while True:
        status = client.get_query_execution(QueryExecutionId=execution)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            break
        if status["State"] in ("FAILED", "CANCELLED"):
            raise AthenaQueryError(f"{name}: {status.get('StateChangeReason', status['State'])}")
        sleep(poll_seconds)
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    kinds: list[str] = []
    for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=execution):
        data = page["ResultSet"]["Rows"]
        if not names:
            info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
            names = [c["Name"] for c in info]
            kinds = [c["Type"] for c in info]
            data = data[1:]  # a SELECT's first row is its column names
        for item in data:
            rows.append(
                {n: _value(d, k) for n, d, k in zip(names, item["Data"], kinds, strict=True)}
            )
    return rows
