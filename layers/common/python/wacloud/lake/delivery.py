"""Rows to the lake's Firehose stream with PutRecordBatch, packed and retried.

Packing: Firehose bills ingestion per record rounded up to 5 KB, and a fact's line is a
few hundred bytes, so one line per record would bill ~10x the data. Lines are packed
many to a Firehose record instead; the stream's RecordDeAggregation processor (JSON
type) splits them again before the day is read from each (dynamic partitioning), and
AppendDelimiterToRecord puts the newline back (template.yaml, docs/lake.md).

Limits (PutRecordBatch API reference, cited in docs/lake.md): at most 500 records and
4 MiB per call, 1,000 KiB per record; deaggregation splits at most 500 sub-records per
record.

Partial failure: a call can succeed while some records fail (``FailedPutCount``, an
``ErrorCode`` per failed entry, e.g. throttling). Only those records are sent again,
a few times with a short backoff; if some still fail, `LakeDeliveryError` is raised so
the Facts function fails the stream batch and Lambda retries it (lake readers
deduplicate on the fact id, docs/lake.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from wacloud.errors import TransientError
from wacloud.infra.batching import chunks, send_retrying_failed

__all__ = [
    "MAX_CALL_BYTES",
    "MAX_CALL_RECORDS",
    "MAX_LINES_PER_RECORD",
    "MAX_RECORD_BYTES",
    "LakeDeliveryError",
    "pack",
    "put_lines",
]

MAX_CALL_RECORDS = 500
MAX_CALL_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1_000 * 1024
MAX_LINES_PER_RECORD = 500

#: Sends of the records still failing after the first call, and the first backoff.
RETRIES = 3
BACKOFF_SECONDS = 0.2


class LakeDeliveryError(TransientError, RuntimeError):
    """Firehose did not take some records after the retries: fail the batch, retry later."""


def pack(lines: Sequence[bytes]) -> list[bytes]:
    """Newline-terminated JSON lines packed into Firehose records, in order: each at
    most MAX_RECORD_BYTES and MAX_LINES_PER_RECORD lines."""
    for item in lines:
        if len(item) > MAX_RECORD_BYTES:
            # A fact row is a few hundred bytes; this would be a bug in the row shape.
            raise ValueError(f"a lake row of {len(item)} bytes exceeds a Firehose record")
    packed = chunks(lines, max_count=MAX_LINES_PER_RECORD, max_bytes=MAX_RECORD_BYTES, size=len)
    return [b"".join(record) for record in packed]


def _calls(records: Sequence[bytes]) -> Iterator[list[bytes]]:
    """Records grouped into PutRecordBatch calls within the per-call limits."""
    return chunks(records, max_count=MAX_CALL_RECORDS, max_bytes=MAX_CALL_BYTES, size=len)


def _put(client: Any, stream: str, records: list[bytes]) -> list[tuple[bytes, str]]:
    """One PutRecordBatch; the records that failed, with their error codes."""
    answer = client.put_record_batch(
        DeliveryStreamName=stream, Records=[{"Data": r} for r in records]
    )
    if not answer.get("FailedPutCount"):
        return []
    return [
        (record, str(result["ErrorCode"]))
        for record, result in zip(records, answer["RequestResponses"], strict=True)
        if result.get("ErrorCode")
    ]


def put_lines(
    client: Any,
    stream: str,
    lines: Sequence[bytes],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Deliver the lines; returns the number of PutRecordBatch calls made.

    Raises LakeDeliveryError naming the error codes (never a record's content) when
    records still fail after RETRIES further sends.
    """
    calls = 0
    for call in _calls(pack(lines)):
        made, left, codes = send_retrying_failed(
            lambda records: _put(client, stream, records),
            call,
            attempts=RETRIES + 1,
            backoff=BACKOFF_SECONDS,
            sleep=sleep,
        )
        calls += made
        if left:
            raise LakeDeliveryError(
                f"{len(left)} lake record(s) refused by Firehose after {RETRIES} retries: "
                + ", ".join(sorted(codes))
            )
    return calls
