"""The event lake on the local stack: the template's Firehose stream in moto (in moto's
own process, delivering as local/firehose.py does), the Facts function configured for
it, and the rows read back with DuckDB by the same SQL Athena runs.

The first test hands the scripted day's facts to ``wacloud.lake.deliver`` with the Facts
function's own configuration; the second goes the whole way: a conversation on the
stack, its state changes through the table's stream and the Facts function (the facts
feed, tests/integration/test_facts_feed.py) into the lake."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.stack import LocalStack
from local.waiting import wait_for
from tests.unit.lake_support import DAY, MARKER_WA_ID, reference_funnel, scripted_day
from wacloud import lake
from wacloud.infra import aws, config
from wacloud.lake.duck import connect, download, query

pytestmark = pytest.mark.integration


def test_facts_reach_the_local_lake_by_day_and_duckdb_reads_the_funnel(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = stack.function_environment("FactsFunction")
    stream = stack.outputs["LakeDeliveryStreamName"]
    bucket = stack.outputs["LakeBucketName"]
    assert env["LAKE_STREAM_NAME"] == stream
    for key in ("LAKE_STREAM_NAME", "AWS_ENDPOINT_URL", "TABLE_NAME", "META_SECRET_ID"):
        monkeypatch.setenv(key, env[key])
    config.settings.cache_clear()
    aws.firehose.cache_clear()
    aws.s3.cache_clear()
    facts = scripted_day()
    try:
        assert lake.deliver(facts) == 1
        # Local delivery happens within the PutRecordBatch call (local/firehose.py): the
        # objects are there when deliver returns, nothing to wait for.
        assert download(aws.s3(), bucket, "2025-03-13", DAY, tmp_path) == 2
    finally:
        config.settings.cache_clear()
        aws.firehose.cache_clear()
        aws.s3.cache_clear()
    keys = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.gz"))
    assert [k.split("/")[1] for k in keys] == ["day=2025-03-13", "day=2025-03-14"]
    assert all(os.path.basename(k).startswith(f"{stream}-1-") for k in keys)
    for path in tmp_path.rglob("*.gz"):
        assert MARKER_WA_ID.encode() not in gzip.decompress(path.read_bytes())
    assert query("funnel", tmp_path, "2025-03-13", DAY) == reference_funnel(
        facts, "2025-03-13", DAY
    )


def _lake_rows(stack: LocalStack, root: Path) -> list[dict[str, Any]]:
    """Every row of the last two days in the stack's lake, read by DuckDB."""
    today = datetime.now(UTC).date()
    first, last = str(today - timedelta(days=1)), str(today)
    for old in root.rglob("*.gz"):
        old.unlink()
    download(stack.client("s3"), stack.outputs["LakeBucketName"], first, last, root)
    connection = connect(root)
    try:
        cursor = connection.execute(
            'SELECT id, type, wamid, message_id, status, crossed, context_wamid, day, "at" '
            "FROM events"
        )
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    finally:
        connection.close()


def test_a_round_trip_lands_in_the_lake_through_the_facts_feed(
    stack: LocalStack, customer: str, tmp_path: Path
) -> None:
    """A customer's "hi", the reply and its statuses: state changes, the table's stream,
    the Facts function, Firehose (moto), S3, then DuckDB: each fact once, by its day."""
    assert stack.emulator is not None
    wamid = stack.emulator.customer_text(customer, "hi")
    sent = wait_for(
        "the reply at the emulator",
        lambda: stack.emulator.sent_messages(to=customer) if stack.emulator else None,
    )
    reply_wamid = sent[0]["wamid"]

    def arrived() -> list[dict[str, Any]] | None:
        rows = _lake_rows(stack, tmp_path)
        received = [r for r in rows if r["type"] == "message.received" and r["wamid"] == wamid]
        reply = [r for r in rows if r["wamid"] == reply_wamid]
        steps = [step for r in reply for step in (r["crossed"] or [])]
        return received + reply if received and "read" in steps else None

    rows = wait_for("the round trip's facts in the lake", arrived, timeout=60, interval=0.5)
    reply_steps = sorted(s for r in rows if r["wamid"] == reply_wamid for s in r["crossed"] or [])
    assert reply_steps == ["delivered", "read", "sent"]  # each step once
    assert len({r["id"] for r in rows}) == len(rows)
    (message_id,) = {r["message_id"] for r in rows if r["wamid"] == reply_wamid}
    assert message_id
    for row in rows:
        assert row["day"] == datetime.fromtimestamp(row["at"], UTC).strftime("%Y-%m-%d")
    for path in tmp_path.rglob("*.gz"):
        assert customer.encode() not in gzip.decompress(path.read_bytes())
