"""The local DynamoDB stream poller does what Lambda's does (local/streams.py): filters,
partial batch failures retried from the lowest failed record, and after the last
retry a record of the failed range in the on-failure queue. Fakes, no threads:
`_read` and `_invoke_next` are driven directly."""

from __future__ import annotations

import json
from typing import Any

from local.lambdas import Invocation
from local.streams import StreamMappingSpec, StreamPoller, matches

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/state/stream/2026-01-01T00:00:00.000"


def _record(seq: int, direction: str = "out", name: str = "MODIFY") -> dict[str, Any]:
    image = {"pk": {"S": f"1#OUT#m{seq}"}, "direction": {"S": direction}}
    change: dict[str, Any] = {"SequenceNumber": str(seq), "Keys": {"pk": image["pk"]}}
    change["NewImage"] = image
    if name == "MODIFY":
        change["OldImage"] = image
    return {"eventName": name, "dynamodb": change}


class FakeStreams:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "it-0"}

    def get_records(self, **_: Any) -> dict[str, Any]:
        records, self.records = self.records, []
        return {"Records": records, "NextShardIterator": "it-1"}


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(json.loads(kwargs["MessageBody"]))


class FakeFunction:
    """Reports every record whose sequence number is in `failing` as failed."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.batches: list[list[str]] = []

    def invoke(self, event: dict[str, Any]) -> Invocation:
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        self.batches.append(seqs)
        failures = [{"itemIdentifier": s} for s in seqs if s in self.failing]
        return Invocation(True, {"batchItemFailures": failures}, None, 1.0)


def _poller(function: FakeFunction, records: list[dict[str, Any]], sqs: FakeSqs) -> StreamPoller:
    spec = StreamMappingSpec(
        logical_id="Facts",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:Facts",
        stream_arn=ARN,
        starting_position="TRIM_HORIZON",
        batch_size=10,
        batching_window_seconds=0,
        report_batch_item_failures=True,
        bisect=True,
        max_retry_attempts=2,
        on_failure_queue_url="dlq",
        filters=({"dynamodb": {"NewImage": {"direction": {"S": ["out"]}}}},),
    )
    poller = StreamPoller(spec, function, FakeStreams(records), sqs)  # type: ignore[arg-type]
    poller._stop.wait = lambda timeout=None: False  # type: ignore[method-assign]
    poller._discover()
    poller._read()
    return poller


def test_filters_drop_records_and_a_failed_record_is_retried_with_those_after_it() -> None:
    sqs = FakeSqs()
    function = FakeFunction(failing={"3"})
    records = [_record(1), _record(2, "in"), _record(3), _record(4)]
    poller = _poller(function, records, sqs)
    assert (poller.stats.records, poller.stats.passed) == (4, 3)
    for _ in range(3):
        poller._invoke_next()
    assert function.batches == [["1", "3", "4"], ["3", "4"], ["3", "4"]]
    assert poller.idle()
    (failure,) = sqs.sent
    info = failure["DDBStreamBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert (info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"]) == (
        "shard-1",
        "3",
        "4",
    )
    assert info["batchSize"] == 2 and info["streamArn"] == ARN
    assert function.batches[0][0] == "1" and poller.stats.given_up == 2


def test_the_matcher_speaks_lambdas_filter_syntax() -> None:
    insert = _record(1, "in", name="INSERT")
    modify = _record(2, "in")
    inserted = {
        "dynamodb": {
            "NewImage": {"direction": {"S": ["in"]}},
            "OldImage": {"pk": {"S": [{"exists": False}]}},
        }
    }
    assert matches(inserted, insert) and not matches(inserted, modify)
    assert matches({"dynamodb": {"NewImage": {"pk": {"S": [{"prefix": "1#OUT"}]}}}}, modify)
    but = {"dynamodb": {"NewImage": {"direction": {"S": [{"anything-but": ["in", "x"]}]}}}}
    assert not matches(but, modify) and matches(but, _record(3))
    number = {"dynamodb": {"SequenceNumber": [{"numeric": [">", 1, "<=", 2]}]}}
    assert matches(number, {"dynamodb": {"SequenceNumber": 2}})
    assert not matches(number, {"dynamodb": {"SequenceNumber": 3}})
