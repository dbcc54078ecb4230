"""DynamoDB stream event source mappings: read a table's stream and invoke the mapped
function with batches, as Lambda's stream poller does.

Honours what the template sets (Lambda's DynamoDB pages: with-ddb.html,
services-ddb-batchfailurereporting.html, services-dynamodb-errors.html,
with-ddb-filtering.html under https://docs.aws.amazon.com/lambda/latest/dg/):
* StartingPosition TRIM_HORIZON or LATEST, per shard; closed shards are read to their
  end and their children picked up (`describe_stream` every few seconds), parents
  first, so one item's changes stay in order;
* FilterCriteria: a record that matches none of the filters is dropped, never sent
  (`matches`, the subset of Lambda's filter syntax in use: values, prefix, exists,
  anything-but, numeric);
* BatchSize and MaximumBatchingWindowInSeconds;
* ReportBatchItemFailures: the lowest reported sequence number is where the next
  attempt starts (that record and every one after it come again);
* a failed invocation retries the batch, halved each time with
  BisectBatchOnFunctionError;
* after MaximumRetryAttempts the batch is given up on and a record of it (shard and
  sequence range, Lambda's on-failure shape) goes to the on-failure SQS destination.

Polled four times a second, like Lambda (with-ddb.html, "Polling and batching").
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.lambdas import LocalFunction

POLL_SECONDS = 0.25
DISCOVER_SECONDS = 5.0


@dataclass(frozen=True)
class StreamMappingSpec:
    logical_id: str
    function_arn: str
    stream_arn: str
    starting_position: str
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    bisect: bool
    max_retry_attempts: int
    on_failure_queue_url: str | None = None
    filters: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_properties(
        cls, logical_id: str, function_arn: str, props: dict[str, Any], queue_url_of: Any
    ) -> StreamMappingSpec:
        """From an AWS::Lambda::EventSourceMapping's resolved properties."""
        destination = (props.get("DestinationConfig") or {}).get("OnFailure", {})
        patterns = (props.get("FilterCriteria") or {}).get("Filters") or []
        return cls(
            logical_id=logical_id,
            function_arn=function_arn,
            stream_arn=str(props["EventSourceArn"]),
            starting_position=str(props.get("StartingPosition", "LATEST")),
            batch_size=int(props.get("BatchSize", 100)),
            batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures"
            in props.get("FunctionResponseTypes", []),
            bisect=bool(props.get("BisectBatchOnFunctionError", False)),
            # -1 (the default) is "until the record expires": unbounded locally too.
            max_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            on_failure_queue_url=(
                queue_url_of(destination["Destination"]) if destination.get("Destination") else None
            ),
            filters=tuple(json.loads(f["Pattern"]) for f in patterns if f.get("Pattern")),
        )


# ------------------------------------------------------------------ filtering
def matches(pattern: dict[str, Any], event: Any) -> bool:
    """True if the record matches a Lambda filter pattern: every key of the pattern
    must match (AND); a list of rules matches if any does (OR)."""
    if not isinstance(event, dict):
        event = {}
    for key, rule in pattern.items():
        if isinstance(rule, dict):
            if not matches(rule, event.get(key)):
                return False
        elif not any(_leaf(r, key in event, event.get(key)) for r in rule):
            return False
    return True


def _leaf(rule: Any, present: bool, value: Any) -> bool:
    if isinstance(rule, dict):
        if "exists" in rule:
            return present is bool(rule["exists"])
        if not present:
            return False
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(str(rule["prefix"]))
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            excluded = excluded if isinstance(excluded, list) else [excluded]
            return value not in excluded
        if "numeric" in rule:
            return _numeric(rule["numeric"], value)
        raise ValueError(f"filter rule not supported locally: {rule}")
    return present and value == rule


def _numeric(spec: list[Any], value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    ops = {
        "=": number.__eq__,
        "<": number.__lt__,
        "<=": number.__le__,
        ">": number.__gt__,
        ">=": number.__ge__,
    }
    return all(ops[op](float(bound)) for op, bound in zip(spec[::2], spec[1::2], strict=True))


# ------------------------------------------------------------------ the poller
@dataclass
class _Shard:
    shard_id: str
    parent: str | None
    iterator: str | None = None
    closed: bool = False


@dataclass
class StreamStats:
    """What the poller saw: records read, records that passed the filters, invocations."""

    records: int = 0
    passed: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    given_up: int = 0
    by_key: dict[str, int] = field(default_factory=dict)


class StreamPoller:
    def __init__(self, spec: StreamMappingSpec, function: LocalFunction, streams: Any, sqs: Any):
        self.spec = spec
        self._function = function
        self._streams = streams
        self._sqs = sqs
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"stream-{spec.logical_id}"
        )
        self._shards: dict[str, _Shard] = {}
        self._pending: list[dict[str, Any]] = []
        self._first_pending_at = 0.0
        self._attempts = 0
        self._limit = spec.batch_size
        self._discovered_at = 0.0
        self._lock = threading.Lock()
        self.stats = StreamStats()
        self.shard_id = ""

    def start(self) -> None:
        self._discover()  # the iterators exist before start() returns (LATEST is now)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def idle(self) -> bool:
        """Nothing read and not yet handed over (for tests waiting on the feed)."""
        with self._lock:
            return not self._pending

    # -------------------------------------------------------------- shards
    def _discover(self) -> None:
        self._discovered_at = time.monotonic()
        description = self._streams.describe_stream(StreamArn=self.spec.stream_arn)
        for shard in description["StreamDescription"].get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._shards:
                continue
            known = _Shard(shard_id, shard.get("ParentShardId"))
            # A child found later starts at its beginning: its parent was read first.
            position = self.spec.starting_position if not self._shards else "TRIM_HORIZON"
            known.iterator = self._streams.get_shard_iterator(
                StreamArn=self.spec.stream_arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]
            self._shards[shard_id] = known
            self.shard_id = self.shard_id or shard_id

    def _readable(self) -> list[_Shard]:
        """Open shards whose parent (if we know it) has been read to its end."""
        return [
            s
            for s in self._shards.values()
            if not s.closed
            and (s.parent is None or s.parent not in self._shards or self._shards[s.parent].closed)
        ]

    def _read(self) -> None:
        for shard in self._readable():
            response = self._streams.get_records(ShardIterator=shard.iterator, Limit=1000)
            shard.iterator = response.get("NextShardIterator")
            shard.closed = shard.iterator is None
            for record in response.get("Records", []):
                self._offer(_as_lambda_sends(record, self.spec.stream_arn), shard.shard_id)

    def _offer(self, record: dict[str, Any], shard_id: str) -> None:
        self.stats.records += 1
        if self.spec.filters and not any(matches(f, record) for f in self.spec.filters):
            return
        self.stats.passed += 1
        key = str(record.get("dynamodb", {}).get("Keys", {}).get("pk", {}).get("S", ""))
        kind = key.split("#")[1] if "#" in key else key
        self.stats.by_key[kind] = self.stats.by_key.get(kind, 0) + 1
        with self._lock:
            if not self._pending:
                self._first_pending_at = time.monotonic()
            self._pending.append({**record, "_shard": shard_id})

    # -------------------------------------------------------------- invoking
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._discovered_at > DISCOVER_SECONDS:
                    self._discover()
                self._read()
            except Exception:  # moto restarting or stopping: try again shortly
                if self._stop.wait(POLL_SECONDS):
                    return
                continue
            while self._due() and not self._stop.is_set():
                self._invoke_next()
            self._stop.wait(POLL_SECONDS)

    def _due(self) -> bool:
        with self._lock:
            if not self._pending:
                return False
            full = len(self._pending) >= self._limit
            waited = time.monotonic() - self._first_pending_at
            return full or self._attempts > 0 or waited >= self.spec.batching_window_seconds

    def _invoke_next(self) -> None:
        with self._lock:
            batch = self._pending[: self._limit]
        event = {"Records": [{k: v for k, v in r.items() if k != "_shard"} for r in batch]}
        try:
            outcome = self._function.invoke(event)
        except Exception:
            traceback.print_exc()
            outcome = None
        self.stats.invocations += 1
        failed = outcome is None or not outcome.ok
        done = 0 if failed else len(batch)
        if not failed and self.spec.report_batch_item_failures:
            assert outcome is not None
            reported = {
                str(f.get("itemIdentifier"))
                for f in (outcome.payload or {}).get("batchItemFailures") or []
                if isinstance(outcome.payload, dict)
            }
            positions = [
                i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in reported
            ]
            if positions:
                done, failed = positions[0], True
        if not failed:
            self._advance(done)
            self._attempts, self._limit = 0, self.spec.batch_size
            return
        self.stats.failed_invocations += 1
        self._advance(done)  # what succeeded before the first failure is checkpointed
        retried = batch[done:]
        self._attempts += 1
        if 0 <= self.spec.max_retry_attempts < self._attempts:
            self._give_up(retried, outcome)
            return
        if self.spec.bisect and outcome is not None and not outcome.ok and len(retried) > 1:
            self._limit = max(1, len(retried) // 2)
        self._stop.wait(min(1.0, 0.05 * 2**self._attempts))

    def _advance(self, count: int) -> None:
        with self._lock:
            del self._pending[:count]
            self._first_pending_at = time.monotonic()

    def _give_up(self, batch: list[dict[str, Any]], outcome: Any) -> None:
        """Discard the batch and leave a record of it where the template says, as
        Lambda does once MaximumRetryAttempts is spent."""
        self.stats.given_up += len(batch)
        self._advance(len(batch))
        self._attempts, self._limit = 0, self.spec.batch_size
        if not self.spec.on_failure_queue_url or not batch:
            return
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        body = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.spec.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.spec.max_retry_attempts + 1,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if outcome is None or not outcome.ok else "",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": batch[0]["_shard"],
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(batch),
                "streamArn": self.spec.stream_arn,
            },
        }
        try:
            self._sqs.send_message(
                QueueUrl=self.spec.on_failure_queue_url, MessageBody=json.dumps(body)
            )
        except Exception:
            traceback.print_exc()


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return None if value is None else str(value)


def _as_lambda_sends(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as boto3 parsed it, back in the JSON shapes Lambda sends (epoch seconds
    for the creation time, base64 for binary attributes), with the stream's ARN."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, bytes | bytearray):
            import base64

            return base64.b64encode(value).decode()
        return value

    return {**plain(record), "eventSourceARN": stream_arn}
