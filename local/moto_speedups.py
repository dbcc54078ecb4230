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

* **TransactWriteItems** deep-copies the whole table once per action before it starts,
  to roll back a cancelled transaction (100 actions on a table of a few thousand items
  took seconds, holding up every other request: the Facts function's aggregates write
  one transaction per batch). Here only the items the transaction names are kept, and
  on a cancellation they are put back and the stream records it wrote are dropped
  (DynamoDB writes none for a cancelled transaction).

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

    dynamodb_models: Any = importlib.import_module("moto.dynamodb.models")
    originals = (Table.query, DynamoResult.execute_result)
    transact_original = dynamodb_models.DynamoDBBackend.transact_write_items
    sqs_originals = (
        sqs_models.unix_time,
        sqs_models.unix_time_millis,
        sqs_models.SQSBackend.is_message_valid_based_on_retention_period,
    )
    _patch_query()
    _patch_responses()
    _patch_sqs()
    _patch_transactions()

    def undo() -> None:
        Table.query, DynamoResult.execute_result = originals  # type: ignore[method-assign]
        dynamodb_models.DynamoDBBackend.transact_write_items = transact_original
        dynamodb_models.copy = importlib.import_module("copy")
        (
            sqs_models.unix_time,
            sqs_models.unix_time_millis,
            sqs_models.SQSBackend.is_message_valid_based_on_retention_period,
        ) = sqs_originals

    return undo


class _TablesNotCopied:
    """moto's models module's `copy`, except that a Table is not deep-copied: the
    patched transaction keeps the items it touches instead (`_patch_transactions`)."""

    def __init__(self) -> None:
        import copy

        self._copy = copy

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table):
            return value
        return self._copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._copy, name)


def _patch_transactions() -> None:
    import copy

    dynamodb_models: Any = importlib.import_module("moto.dynamodb.models")
    from moto.dynamodb.models.dynamo_type import DynamoType

    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items
    dynamodb_models.copy = _TablesNotCopied()

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        kept: list[tuple[Any, Any, Any, Any]] = []  # table, hash, range, item before
        streams: dict[int, tuple[Any, int]] = {}
        for action in transact_items:
            op = next(iter(action.values())) if len(action) == 1 else {}
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            attrs = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in attrs:
                continue
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in attrs:
                    continue
                range_value = DynamoType(attrs[table.range_key_attr])
            before = table.get_item(hash_value, range_value)
            kept.append((table, hash_value, range_value, copy.deepcopy(before)))
            if table.stream_shard is not None:
                streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, before in reversed(kept):
                if range_value is None:
                    if before is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = before
                elif before is None:
                    table.items[hash_value].pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = before
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    backend.transact_write_items = transact_write_items


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
