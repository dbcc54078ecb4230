"""Thin helpers over the low-level DynamoDB client (faster to import than resources).

Every table access in `wacloud.store` goes through these, so three things are written
once: building expression placeholders from Python values (`Expr`), a conditional
write whose failed condition is an answer rather than an error (`conditional_update`,
`update`, `put`, `delete`), following `LastEvaluatedKey` (`pages`, `query`), and the
batch calls with their unprocessed remainders (`batch_get`, `batch_put`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from wacloud.errors import StoreError, TransientError
from wacloud.infra.aws import dynamodb
from wacloud.infra.config import settings


@cache
def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


@cache
def _deserializer() -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {k: _to_dynamo_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo_value(v) for v in value]
    return value


def marshal(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values -> DynamoDB attribute values (None dropped, floats as Decimal)."""
    serializer = _serializer()
    return {
        k: serializer.serialize(_to_dynamo_value(v)) for k, v in values.items() if v is not None
    }


def unmarshal(item: Mapping[str, Any]) -> dict[str, Any]:
    deserializer = _deserializer()
    return {k: _from_dynamo_value(deserializer.deserialize(v)) for k, v in item.items()}


def table() -> str:
    return settings().table_name


def key(pk: str, sk: str = "#") -> dict[str, Any]:
    """The marshalled primary key of one item."""
    return marshal({"pk": pk, "sk": sk})


def is_conditional_failure(exc: Exception) -> bool:
    # Not every botocore error carries a response dict: a ReadTimeoutError's is None.
    code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


# ------------------------------------------------------------------ expressions
@dataclass
class Expr:
    """One request's expressions with their placeholders, built from Python values.

    Names and values are never spliced into expression text: `name("status")` returns
    `#n0`, `value("paused")` returns `:v0`, and `params()` carries both maps
    (values marshalled). The clause helpers build an UpdateExpression; `when` adds a
    condition (ANDed with earlier ones); `key_condition` and `filter` are for Query
    and Scan. Reserved words (`status`, `at`) therefore need no special care.
    """

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    sets: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    key_conditions: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)

    def name(self, attr: str) -> str:
        """The placeholder for an attribute name (the same one each time it is asked)."""
        for placeholder, existing in self.names.items():
            if existing == attr:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attr
        return placeholder

    def value(self, value: Any) -> str:
        """The placeholder for a value (None is refused: marshal would drop it)."""
        if value is None:
            raise ValueError("an expression value cannot be None (use REMOVE)")
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def one_of(self, values: Iterable[Any]) -> str:
        """`:v0, :v1, ...` for an `IN (...)` list."""
        return ", ".join(self.value(v) for v in values)

    def set(self, attr: str, value: Any) -> Expr:
        self.sets.append(f"{self.name(attr)} = {self.value(value)}")
        return self

    def set_fields(self, fields: Mapping[str, Any]) -> Expr:
        """SET every field whose value is not None."""
        for attr, value in fields.items():
            if value is not None:
                self.set(attr, value)
        return self

    def set_if_absent(self, attr: str, value: Any) -> Expr:
        n = self.name(attr)
        self.sets.append(f"{n} = if_not_exists({n}, {self.value(value)})")
        return self

    def set_clause(self, clause: str) -> Expr:
        """A SET clause written with placeholders from `name` and `value`."""
        self.sets.append(clause)
        return self

    def add(self, attr: str, value: Any) -> Expr:
        """ADD a number (atomic counter) or a set's members."""
        self.adds.append(f"{self.name(attr)} {self.value(value)}")
        return self

    def remove(self, *attrs: str) -> Expr:
        self.removes.extend(self.name(a) for a in attrs)
        return self

    def when(self, condition: str) -> Expr:
        """A condition (placeholders from `name` and `value`), ANDed with the others."""
        self.conditions.append(condition)
        return self

    def key_condition(self, condition: str) -> Expr:
        self.key_conditions.append(condition)
        return self

    def filter(self, condition: str) -> Expr:
        self.filters.append(condition)
        return self

    def update_expression(self) -> str:
        parts = []
        for verb, clauses in (("SET", self.sets), ("ADD", self.adds), ("REMOVE", self.removes)):
            if clauses:
                parts.append(f"{verb} {', '.join(clauses)}")
        return " ".join(parts)

    def params(self) -> dict[str, Any]:
        """The request parameters these expressions make (only those that are set)."""
        out: dict[str, Any] = {}
        update = self.update_expression()
        if update:
            out["UpdateExpression"] = update
        for param, clauses in (
            ("ConditionExpression", self.conditions),
            ("FilterExpression", self.filters),
        ):
            if clauses:
                out[param] = " AND ".join(f"({c})" if len(clauses) > 1 else c for c in clauses)
        if self.key_conditions:  # no parentheses in a key condition
            out["KeyConditionExpression"] = " AND ".join(self.key_conditions)
        if self.names:
            out["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            out["ExpressionAttributeValues"] = marshal(self.values)
        return out


# ------------------------------------------------------------------ writes
@dataclass(frozen=True, slots=True)
class Written:
    """What an UpdateItem did: whether it was applied, and the attributes it returned
    (as asked by `returns`; when the condition failed and `old_on_failure` was asked,
    the item as it was)."""

    written: bool
    attributes: dict[str, Any]

    def __bool__(self) -> bool:
        return self.written


def update(
    pk: str,
    sk: str,
    expr: Expr,
    *,
    returns: Literal["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"] = "NONE",
    old_on_failure: bool = False,
) -> Written:
    """One UpdateItem. A failed condition is an answer (`written` False), not an error;
    every other error raises."""
    request: dict[str, Any] = {"TableName": table(), "Key": key(pk, sk), **expr.params()}
    if returns != "NONE":
        request["ReturnValues"] = returns
    if old_on_failure:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        response = dynamodb().update_item(**request)
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
        old = (getattr(exc, "response", None) or {}).get("Item") or {}
        return Written(False, unmarshal(old))
    return Written(True, unmarshal(response.get("Attributes") or {}))


def conditional_update(pk: str, sk: str, expr: Expr) -> bool:
    """Apply `expr` to one item if its condition holds: True written, False not; other
    errors raise. The one form of "try the conditional write, a refusal is an answer"."""
    return update(pk, sk, expr).written


def put(item: Mapping[str, Any], expr: Expr | None = None) -> bool:
    """Write a whole item, under `expr`'s condition if given: True when written."""
    request: dict[str, Any] = {"TableName": table(), "Item": marshal(item)}
    if expr is not None:
        request.update(expr.params())
    try:
        dynamodb().put_item(**request)
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def put_if_absent(item: Mapping[str, Any]) -> bool:
    """Write the item unless one with its key exists; True when this call created it."""
    return put(item, Expr().when("attribute_not_exists(pk)"))


# BatchWriteItem's limit on requests per call, and how often its unprocessed remainder
# (throttling) is sent again, with a short doubling pause, before giving up.
BATCH_WRITE_MAX = 25
BATCH_WRITE_ATTEMPTS = 5
_BATCH_WRITE_PAUSE_SECONDS = 0.05


class UnprocessedWritesError(StoreError, TransientError):
    """BatchWriteItem left items unwritten after every attempt (sustained throttling)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} item(s) left unwritten by BatchWriteItem")
        self.count = count


def batch_put(items: Sequence[Mapping[str, Any]]) -> None:
    """Write whole items without conditions: one BatchWriteItem per 25 items.

    For writes that need no condition and may be late by a moment (lookup items,
    advisory counters). Throttled items come back as UnprocessedItems and are sent
    again (bounded, with a short pause); UnprocessedWritesError if some never went.
    """
    name = table()
    for start in range(0, len(items), BATCH_WRITE_MAX):
        request: dict[str, Any] = {
            name: [
                {"PutRequest": {"Item": marshal(i)}} for i in items[start : start + BATCH_WRITE_MAX]
            ]
        }
        for attempt in range(BATCH_WRITE_ATTEMPTS):
            response = dynamodb().batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}
            if not request:
                break
            if attempt + 1 < BATCH_WRITE_ATTEMPTS:
                time.sleep(_BATCH_WRITE_PAUSE_SECONDS * 2**attempt)
        if request:
            raise UnprocessedWritesError(sum(len(v) for v in request.values()))


def delete(pk: str, sk: str = "#") -> bool:
    """Delete one item; True if it existed (so a repeated delete reports nothing)."""
    response = dynamodb().delete_item(TableName=table(), Key=key(pk, sk), ReturnValues="ALL_OLD")
    return bool(response.get("Attributes"))


# ------------------------------------------------------------------ reads
def get(pk: str, sk: str = "#", *, consistent: bool = True) -> dict[str, Any] | None:
    response = dynamodb().get_item(TableName=table(), Key=key(pk, sk), ConsistentRead=consistent)
    item = response.get("Item")
    return unmarshal(item) if item else None


# BatchGetItem's limit on keys per call.
BATCH_GET_MAX = 100


def batch_get(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Several items by (pk, sk), strongly consistent: one BatchGetItem per 100 keys.

    Returns the items found, by key; a missing item is simply absent. Throttled keys
    come back as UnprocessedKeys and are asked for again (only those).
    """
    name = table()
    wanted = list(dict.fromkeys(keys))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(wanted), BATCH_GET_MAX):
        request: dict[str, Any] = {
            name: {
                "Keys": [key(pk, sk) for pk, sk in wanted[start : start + BATCH_GET_MAX]],
                "ConsistentRead": True,
            }
        }
        while request:
            response = dynamodb().batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(name, []):
                item = unmarshal(raw)
                found[(str(item["pk"]), str(item["sk"]))] = item
            request = response.get("UnprocessedKeys") or {}
    return found


def pages(
    request: Mapping[str, Any],
    *,
    scan: bool = False,
    limit: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every page of a Query (or Scan), unmarshalled, following `LastEvaluatedKey`.

    `limit`: stop once that many items were returned in all (each request asks for
    only what is still missing).
    """
    kwargs: dict[str, Any] = {"TableName": table(), **request}
    call = dynamodb().scan if scan else dynamodb().query
    seen = 0
    while True:
        if limit is not None:
            kwargs["Limit"] = limit - seen
        response = call(**kwargs)
        items = [unmarshal(i) for i in response.get("Items", [])]
        seen += len(items)
        yield items
        last = response.get("LastEvaluatedKey")
        if not last or (limit is not None and seen >= limit):
            return
        kwargs["ExclusiveStartKey"] = last


def items(
    request: Mapping[str, Any], *, scan: bool = False, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """The items of `pages`, one by one."""
    for page in pages(request, scan=scan, limit=limit):
        yield from page


def query(
    pk: str,
    *,
    index: str | None = None,
    key_attr: str = "pk",
    sk_prefix: str | None = None,
    limit: int | None = None,
    forward: bool = True,
) -> list[dict[str, Any]]:
    """All items of one partition (following pages), optionally by sort-key prefix."""
    expr = Expr()
    expr.key_condition(f"{expr.name(key_attr)} = {expr.value(pk)}")
    if sk_prefix is not None:
        sort = "sk" if index is None else f"{key_attr[:-2]}sk"
        expr.key_condition(f"begins_with({expr.name(sort)}, {expr.value(sk_prefix)})")
    request: dict[str, Any] = {**expr.params(), "ScanIndexForward": forward}
    if index:
        request["IndexName"] = index
    return list(items(request, limit=limit))
