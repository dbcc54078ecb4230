"""Thin helpers over the low-level DynamoDB client (faster to import than resources)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

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


def is_conditional_failure(exc: Exception) -> bool:
    # Not every botocore error carries a response dict: a ReadTimeoutError's is None.
    code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


def put_if_absent(item: Mapping[str, Any]) -> bool:
    """Write the item unless one with its key exists; True when this call created it."""
    try:
        dynamodb().put_item(
            TableName=table(), Item=marshal(item), ConditionExpression="attribute_not_exists(pk)"
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def get(pk: str, sk: str = "#", *, consistent: bool = True) -> dict[str, Any] | None:
    response = dynamodb().get_item(
        TableName=table(), Key=marshal({"pk": pk, "sk": sk}), ConsistentRead=consistent
    )
    item = response.get("Item")
    return unmarshal(item) if item else None


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
    names = {"#pk": key_attr}
    values: dict[str, Any] = {":pk": pk}
    condition = "#pk = :pk"
    if sk_prefix is not None:
        names["#sk"] = "sk" if index is None else f"{key_attr[:-2]}sk"
        values[":prefix"] = sk_prefix
        condition += " AND begins_with(#sk, :prefix)"
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": marshal(values),
        "ScanIndexForward": forward,
    }
    if index:
        kwargs["IndexName"] = index
    items: list[dict[str, Any]] = []
    while True:
        if limit is not None:
            kwargs["Limit"] = limit - len(items)
        response = dynamodb().query(**kwargs)
        items.extend(unmarshal(i) for i in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last or (limit is not None and len(items) >= limit):
            return items
        kwargs["ExclusiveStartKey"] = last
