"""Rows to Firehose: packing within the API's limits, retrying only what failed, and
the template's stream (in moto, delivering as local/firehose.py does) writing them
gzipped under the day they happened."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from tests.unit.lake_support import (
    MARKER_WA_ID,
    lake_objects,
    lake_rows,
    scripted_day,
    template_lake,
)
from wacloud import lake
from wacloud.infra import config
from wacloud.lake.delivery import (
    MAX_CALL_BYTES,
    MAX_CALL_RECORDS,
    MAX_LINES_PER_RECORD,
    MAX_RECORD_BYTES,
    RETRIES,
    LakeDeliveryError,
    _calls,
    pack,
    put_lines,
)
from wacloud.lake.rows import day_of


def _line(n: int, size: int = 40) -> bytes:
    body = json.dumps({"id": f"f{n}", "pad": "x" * max(0, size - 30)}).encode()
    return body + b"\n"


def test_pack_keeps_order_and_the_per_record_limits() -> None:
    lines = [_line(n) for n in range(1201)]
    records = pack(lines)
    assert [len(r.splitlines()) for r in records] == [500, 500, 201]
    assert b"".join(records) == b"".join(lines)
    big = [_line(n, 300_000) for n in range(7)]
    records = pack(big)
    assert all(len(r) <= MAX_RECORD_BYTES for r in records)
    assert [len(r.splitlines()) for r in records] == [3, 3, 1]


def test_a_row_larger_than_a_record_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        pack([b"x" * (MAX_RECORD_BYTES + 1)])


class FakeFirehose:
    """Records each PutRecordBatch; refuses the records whose data starts with any of
    `refuse` (a throttled shard, say) for the first `times` attempts at each."""

    def __init__(self, refuse: tuple[bytes, ...] = (), times: int = 0) -> None:
        self.calls: list[list[bytes]] = []
        self.refuse, self.times = refuse, times
        self.tries: dict[bytes, int] = {}

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> Any:  # noqa: N803
        data = [r["Data"] for r in Records]
        self.calls.append(data)
        responses = []
        for item in data:
            self.tries[item] = self.tries.get(item, 0) + 1
            if item.startswith(self.refuse) and self.tries[item] <= self.times:
                responses.append(
                    {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "slow down"}
                )
            else:
                responses.append({"RecordId": "r"})
        failed = sum(1 for r in responses if "ErrorCode" in r)
        return {"FailedPutCount": failed, "RequestResponses": responses}


def test_calls_stay_within_500_records_and_4_mib() -> None:
    client = FakeFirehose()
    # 20 rows of 600 KiB: one per record (two would pass 1,000 KiB), six per 4 MiB call.
    lines = [_line(n, 600 * 1024) for n in range(20)]
    put_lines(client, "s", lines, sleep=lambda _: None)
    assert all(sum(map(len, c)) <= MAX_CALL_BYTES for c in client.calls)
    assert [len(c) for c in client.calls] == [6, 6, 6, 2]
    assert [len(c) for c in _calls([b"{}\n"] * 1001)] == [MAX_CALL_RECORDS, MAX_CALL_RECORDS, 1]


def test_only_the_failed_records_are_sent_again() -> None:
    lines = [_line(n) for n in range(3 * MAX_LINES_PER_RECORD)]  # three records
    records = pack(lines)
    client = FakeFirehose(refuse=(records[1][:20],), times=2)
    waits: list[float] = []
    calls = put_lines(client, "s", lines, sleep=waits.append)
    assert calls == 3
    assert client.calls[0] == records
    assert client.calls[1] == [records[1]] and client.calls[2] == [records[1]]
    assert waits == [0.2, 0.4]


def test_records_still_failing_fail_the_batch_naming_only_the_error() -> None:
    lines = [json.dumps({"id": "f1", "wa_id_would_be": MARKER_WA_ID}).encode() + b"\n"]
    client = FakeFirehose(refuse=(b"{",), times=99)
    with pytest.raises(LakeDeliveryError) as caught:
        put_lines(client, "s", lines, sleep=lambda _: None)
    assert len(client.calls) == 1 + RETRIES
    assert "ServiceUnavailableException" in str(caught.value)
    assert MARKER_WA_ID not in str(caught.value)


def test_without_a_stream_there_is_no_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "state")
    monkeypatch.setenv("META_SECRET_ID", "meta")
    monkeypatch.delenv("LAKE_STREAM_NAME", raising=False)
    config.settings.cache_clear()
    try:
        assert lake.deliver(scripted_day()) == 0
    finally:
        config.settings.cache_clear()


def test_facts_land_gzipped_under_the_day_they_happened(monkeypatch: pytest.MonkeyPatch) -> None:
    facts = scripted_day()
    with template_lake(monkeypatch) as names:
        assert lake.deliver(facts) == 1  # 24 rows: one record, one call
        objects = lake_objects(names["bucket"])
        rows = lake_rows(names["bucket"])
    assert sorted(r["id"] for _, r in rows) == sorted(f.id for f in facts)
    for key, item in rows:
        day = day_of(item["at"])
        assert item["day"] == day
        assert key.startswith(f"events/day={day}/{names['stream']}-1-")
        assert key.endswith(".gz")
    assert {k.split("/")[1] for k in objects} == {"day=2025-03-13", "day=2025-03-14"}
    assert not any(k.startswith("errors/") for k in objects)
    for body in objects.values():
        assert MARKER_WA_ID.encode() not in gzip.decompress(body)


def test_a_record_without_its_day_goes_to_the_error_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    with template_lake(monkeypatch) as names:
        boto3.client("firehose").put_record_batch(
            DeliveryStreamName=names["stream"],
            Records=[{"Data": b'{"id": "x"}\n{"id": "y", "day": "2025-03-14"}\n'}],
        )
        keys = sorted(lake_objects(names["bucket"]))
    assert len(keys) == 2
    assert keys[0].startswith("errors/processing-failed/day=")
    assert keys[1].startswith("events/day=2025-03-14/")
