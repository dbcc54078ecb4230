"""The lake's SQL: one text for Athena and DuckDB, and the agreement the issue asks
for: a scripted day of facts, delivered through the template's stream into S3 and read
back with DuckDB, gives the funnel a reader computes from the facts themselves.

The daily aggregates' funnel over the same facts is compared with the lake's in
tests/unit/test_funnel_agreement.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.unit.lake_support import (
    DAY,
    PN,
    PN2,
    download_all,
    reference_funnel,
    scripted_day,
    template_lake,
)
from wacloud import lake
from wacloud.lake import athena, duck
from wacloud.lake.queries import QUERIES, render

# Functions both engines document with the same meaning (Trino: trino.io/docs
# functions; DuckDB: duckdb.org/docs/sql/functions). A query may call no other.
PORTABLE_FUNCTIONS = {"sum", "count", "coalesce", "contains", "row_number"}


@pytest.mark.parametrize("name", QUERIES)
def test_queries_keep_to_what_both_engines_accept(name: str) -> None:
    text = render(name, '"db"."events"')
    assert '"db"."events"' in text and "{table}" not in text
    assert text.count("?") == 2  # the day range, bound by each engine
    called = {m.lower() for m in re.findall(r"\b([A-Za-z_]+)\s*\(", text)}
    called -= {"as", "in", "over", "and", "or", "facts"}  # keywords before a parenthesis
    assert called <= PORTABLE_FUNCTIONS, called - PORTABLE_FUNCTIONS
    assert "::" not in text  # DuckDB's cast shorthand; Trino has none
    assert "--" not in text  # comments are dropped before sending


@pytest.mark.parametrize("name", QUERIES)
def test_every_query_runs_on_an_empty_lake(name: str, tmp_path: Path) -> None:
    assert duck.query(name, tmp_path, DAY, DAY) == []


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted day (delivered once, then half of it again, as a retried stream
    batch would) through the template's stream in moto, copied down for DuckDB."""
    root = tmp_path_factory.mktemp("lake")
    monkeypatch = pytest.MonkeyPatch()
    facts = scripted_day()
    try:
        with template_lake(monkeypatch) as names:
            lake.deliver(facts)
            lake.deliver(facts[::2])  # a redelivered batch: the same fact ids again
            # Objects: both days, then the 14th again (the half holds no fact of the 13th).
            assert download_all(names["bucket"], root, "2025-03-13", DAY) == 3
    finally:
        monkeypatch.undo()
    return root


def test_duckdb_funnel_agrees_with_the_facts(delivered: Path) -> None:
    facts = scripted_day()
    for first, last in ((DAY, DAY), ("2025-03-13", DAY), ("2025-03-13", "2025-03-13")):
        got = duck.query("funnel", delivered, first, last)
        assert got == reference_funnel(facts, first, last), (first, last)
    (pn,) = [r for r in duck.query("funnel", delivered, DAY, DAY) if r["phone_number_id"] == PN]
    assert pn == {
        "phone_number_id": PN, "day": DAY, "received": 4, "sent": 5, "delivered": 4,
        "read": 3, "played": 1, "failed": 1, "replied": 3,
    }  # fmt: skip
    assert [r["phone_number_id"] for r in duck.query("funnel", delivered, DAY, DAY)] == [PN, PN2]


def test_templates_and_billable(delivered: Path) -> None:
    assert duck.query("templates", delivered, DAY, DAY) == [
        {
            "phone_number_id": PN, "template_name": "welcome", "template_language": "en_US",
            "sent": 2, "delivered": 2, "read": 2, "failed": 0,
        }
    ]  # fmt: skip
    billable = duck.query("billable", delivered, DAY, DAY)
    assert [(r["pricing_category"], r["priced"], r["billable"]) for r in billable] == [
        ("marketing", 1, 1),
        ("service", 1, 0),
        ("utility", 1, 1),
    ]


def test_athena_runs_the_same_text_with_the_days_as_parameters() -> None:
    client = boto3.client("athena", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q1"},
        {
            "QueryString": render("funnel", '"wacloud_lake"."events"'),
            "QueryExecutionContext": {"Database": "wacloud_lake"},
            "WorkGroup": "wacloud-lake",
            "ExecutionParameters": ["'2025-03-13'", "'2025-03-14'"],
        },
    )
    running: dict[str, Any] = {"QueryExecution": {"Status": {"State": "RUNNING"}}}
    stub.add_response("get_query_execution", running, {"QueryExecutionId": "q1"})
    done: dict[str, Any] = {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}}
    stub.add_response("get_query_execution", done, {"QueryExecutionId": "q1"})
    header = ["phone_number_id", "day", "sent"]
    stub.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "ResultSetMetadata": {
                    "ColumnInfo": [
                        {"Name": "phone_number_id", "Type": "varchar"},
                        {"Name": "day", "Type": "varchar"},
                        {"Name": "sent", "Type": "bigint"},
                    ]
                },
                "Rows": [
                    {"Data": [{"VarCharValue": h} for h in header]},
                    {"Data": [{"VarCharValue": PN}, {"VarCharValue": DAY}, {"VarCharValue": "5"}]},
                ],
            }
        },
        {"QueryExecutionId": "q1"},
    )
    waits: list[float] = []
    with stub:
        rows = athena.query(
            "funnel", database="wacloud_lake", table="events", workgroup="wacloud-lake",
            first="2025-03-13", last="2025-03-14", client=client, sleep=waits.append,
        )  # fmt: skip
    assert rows == [{"phone_number_id": PN, "day": DAY, "sent": 5}]
    assert waits == [1.0]


def test_athena_takes_only_days_as_parameters() -> None:
    with pytest.raises(ValueError):
        athena.query(
            "funnel", database="d", table="t", workgroup="w",
            first="2025-03-13' OR '1'='1", last=DAY, client=object(),
        )  # fmt: skip
