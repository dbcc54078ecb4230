"""Releasing scheduled messages when they fall due (QueueProcessor).

Scheduled messages sit in the `due` index (due_sk sorts by due time, then priority).
Each due message is moved `scheduled -> queued` by a conditional write before its
submission goes back on the outbound queue, so two overlapping runs release it once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wacloud.aws import dynamodb
from wacloud.clock import iso, now
from wacloud.store.dynamo import is_conditional_failure, marshal, table, unmarshal
from wacloud.store.messages import RANK, State, message_pk


def due_keys(until: float, limit: int = 500) -> list[dict[str, Any]]:
    response = dynamodb().query(
        TableName=table(),
        IndexName="due",
        KeyConditionExpression="due_pk = :due AND due_sk <= :until",
        ExpressionAttributeValues=marshal({":due": "DUE", ":until": f"{iso(until)}#~"}),
        Limit=limit,
    )
    return [unmarshal(i) for i in response.get("Items", [])]


def release_due(enqueue: Callable[[list[str]], None], *, limit: int = 500) -> int:
    """Release every due message once; returns how many this run released."""
    released: list[str] = []
    at = now()
    for key in due_keys(at, limit):
        try:
            response = dynamodb().update_item(
                TableName=table(),
                Key=marshal({"pk": key["pk"], "sk": key["sk"]}),
                UpdateExpression="SET #state = :queued, state_rank = :rank, updated_at = :at, "
                "at_queued = :at REMOVE due_pk, due_sk",
                ConditionExpression="#state = :scheduled",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=marshal(
                    {
                        ":queued": State.QUEUED.value,
                        ":rank": RANK[State.QUEUED],
                        ":at": at,
                        ":scheduled": State.SCHEDULED.value,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                continue  # another run released it
            raise
        item = unmarshal(response["Attributes"])
        released.append(str(item["submission"]))
    if released:
        enqueue(released)
    return len(released)


__all__ = ["due_keys", "message_pk", "release_due"]
