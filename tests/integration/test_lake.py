"""The event lake on the local stack: the template's Firehose stream in moto (in moto's
own process, delivering as local/firehose.py does), the Facts function configured for
it, and the rows read back with DuckDB by the same SQL Athena runs.

The facts here are the scripted day's, handed to ``wacloud.lake.deliver`` with the Facts
function's own configuration; the path from a state change through the stream to the
function is the facts feed's (tests/integration/test_facts_feed.py)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from local.stack import LocalStack
from tests.unit.lake_support import DAY, MARKER_WA_ID, reference_funnel, scripted_day
from wacloud import lake
from wacloud.infra import aws, config
from wacloud.lake.duck import download, query

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
