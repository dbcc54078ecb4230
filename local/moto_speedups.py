"""Speed-ups for moto's DynamoDB and SQS, same answers, applied in the local moto processes.

Why: the local stack is only as fast as moto's DynamoDB, and a profile of a campaign
run on it (1,000 messages and their status webhooks) showed two costs that grow with
the table rather than with the request:

* **Query** builds its candidate list from ``Table.all_items()``, which *sorts the
  whole table* on every call (DynamoType comparisons, ~50 ms with a few thousand
  items), then filters by the key condition and sorts again. Here a base-table query
  starts from its own partition, and an index query from the unsorted items; both
  are then filtered and sorted by moto's own code exactly as before.
* **Responses** of item operations go through moto's model-driven serializer, which
  walks every attribute of every item against the botocore shape (~10 ms for one
  message record with its history). DynamoDB's protocol is plain JSON whose member
  names are the shape's, so these are written with ``json.dumps``; anything the fast
  path does not know how to write falls back to moto's serializer.

* **SQS** reads the clock through a datetime subtraction (~15 us) a few times per
  message held in the queue on every call, and recomputes every queue attribute,
  counts included, to read one retention period per received message. With a
  campaign's thousand delayed messages on the outbound queue, one SendMessageBatch
  took ~300 ms and one receive ~1 s. Here the clock is ``time.time()`` (the same
  clock) and the retention period is read from the queue.

``tests/unit/test_moto_speedups.py`` runs the same operations with and without the
patches and compares every answer.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

#: Responses written by the fast path, and handed back to moto's serializer.
counts = {"fast": 0, "fallback": 0}


def apply() -> Callable[[], None]:
    """Patch moto's DynamoDB in this process; returns what undoes it (for tests)."""
    sqs_models: Any = importlib.import_module("moto.sqs.models")
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoResult

    originals = (Table.query, DynamoResult.execute_result)
    sqs_originals = (
        sqs_models.unix_time,
        sqs_models.unix_time_millis,
        sqs_models.SQSBackend.is_message_valid_based_on_retention_period,
    )
    _patch_query()
    _patch_responses()
    _patch_sqs()

    def undo() -> None:
        Table.query, DynamoResult.execute_result = originals  # type: ignore[method-assign]
        (
            sqs_models.unix_time,
            sqs_models.unix_time_millis,
            sqs_models.SQSBackend.is_message_valid_based_on_retention_period,
        ) = sqs_originals

    return undo


def _patch_query() -> None:
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    signature = inspect.signature(original_query)

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto's backend passes index_name by position; bind to find it either way.
        index_name = signature.bind(self, hash_key, *args, **kwargs).arguments.get("index_name")
        if index_name:
            candidates: list[Any] = [
                item for partition in self.items.values() for item in partition.values()
            ]
        elif self.range_key_attr and hash_key is not None:
            candidates = list(self.items.get(hash_key, {}).values())
        else:
            return original_query(self, hash_key, *args, **kwargs)
        # The candidates stand in for all_items() for this call only; moto's query
        # filters them by the key condition and sorts the matches itself.
        self.all_items = lambda: candidates  # type: ignore[method-assign]
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]


class _UnwritableError(Exception):
    pass


def _default(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    raise _UnwritableError(type(value).__name__)


def _patch_responses() -> None:
    from moto.dynamodb.responses import DynamoResult

    original: Callable[..., Any] = DynamoResult.execute_result

    def execute_result(self: DynamoResult, context: Any) -> Any:
        result = self.result
        try:
            if not isinstance(result, dict):
                raise _UnwritableError(type(result).__name__)
            body = json.dumps(result, default=_default, separators=(",", ":"))
        except (_UnwritableError, TypeError, ValueError):
            counts["fallback"] += 1
            return original(self, context)
        counts["fast"] += 1
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign, assignment]


def _patch_sqs() -> None:
    sqs_models: Any = importlib.import_module("moto.sqs.models")

    slow_time, slow_millis = sqs_models.unix_time, sqs_models.unix_time_millis

    def unix_time(dt: datetime | None = None) -> float:
        return time.time() if dt is None else slow_time(dt)

    def unix_time_millis(dt: datetime | None = None) -> float:
        return time.time() * 1000.0 if dt is None else slow_millis(dt)

    def is_message_valid_based_on_retention_period(
        self: Any, queue_name: str, message: Any
    ) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > time.time())

    sqs_models.unix_time = unix_time
    sqs_models.unix_time_millis = unix_time_millis
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = (
        is_message_valid_based_on_retention_period
    )
