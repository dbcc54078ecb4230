"""The sparse `due` index (due_pk, due_sk): everything that must happen "at T".

Keys (README "State"; a contract, unchanged):

* `DUE#0` .. `DUE#{DUE_SHARDS-1}`: messages to send at T, spread by a hash of the
  message id so no single index partition takes every scheduled write (one partition
  takes about 1,000 writes/s). due_sk = `{iso T}#{9 - priority}#{pnid}#{id}`. Items
  written before sharding sit in the single `DUE` partition, which is still read.
* `HK`: housekeeping at T. due_sk = `{iso T}#{pk}`. Temporary blocks that end, and state
  items whose TTL has passed (DynamoDB deletes expired items only eventually).

The message records' own index writes (schedule, lease, release, park, cancel) live in
`wacloud.store.messages`, the one owner of message state; this module owns the keys, the
index query and the housekeeping writes. What to do when (the release loop, the
housekeeping policy) is `wacloud.scheduling`'s.
"""

from __future__ import annotations

import hashlib
from typing import Any

from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import iso, now
from wacloud.infra.dynamo import get, is_conditional_failure, marshal, table, unmarshal

DUE_PARTITION = "DUE"  # before sharding: still read, never written
# Shards of the DUE partition; a release costs one query per shard. It may be raised;
# never lower it while items wait (those in the dropped shards would never be read).
DUE_SHARDS = 8
HOUSEKEEPING_PARTITION = "HK"


def due_partition(message_id: str) -> str:
    """The DUE shard a message waits in (stable: the same id always maps to it)."""
    return f"{DUE_PARTITION}#{hashlib.sha256(message_id.encode()).digest()[0] % DUE_SHARDS}"


def due_partitions() -> list[str]:
    """Every partition a release reads: the shards, then the pre-sharding one."""
    return [f"{DUE_PARTITION}#{shard}" for shard in range(DUE_SHARDS)] + [DUE_PARTITION]


def due_sk(due: float, priority: int, phone_number_id: str, message_id: str) -> str:
    """Sorts by due time, then highest priority first."""
    return f"{iso(due)}#{9 - priority}#{phone_number_id}#{message_id}"


def schedule_fields(
    phone_number_id: str, message_id: str, due: float, priority: int
) -> dict[str, Any]:
    """The index fields that put a message record in its DUE shard."""
    return {
        "send_at": due,
        "due_pk": due_partition(message_id),
        "due_sk": due_sk(due, priority, phone_number_id, message_id),
    }


def due_keys(partition: str, until: float, limit: int = 2000) -> list[dict[str, Any]]:
    """Keys due at or before `until` (oldest first), following pages up to `limit`."""
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "IndexName": "due",
        "KeyConditionExpression": "due_pk = :p AND due_sk <= :until",
        "ExpressionAttributeValues": marshal({":p": partition, ":until": f"{iso(until)}#~"}),
    }
    keys: list[dict[str, Any]] = []
    while len(keys) < limit:
        kwargs["Limit"] = limit - len(keys)
        response = dynamodb().query(**kwargs)
        keys.extend(unmarshal(i) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return keys


# ------------------------------------------------------------------ housekeeping
def _housekeeping_sk(at: float, pk: str) -> str:
    return f"{iso(at)}#{pk}"


def temporary_block(phone_number_id: str, wa_id: str, until: float, *, reason: str) -> None:
    """Block a contact until `until`; housekeeping lifts the block when it is over."""
    from wacloud.store.contacts import contact_pk

    pk = contact_pk(phone_number_id, wa_id)
    dynamodb().update_item(
        TableName=table(),
        Key=marshal({"pk": pk, "sk": "#"}),
        UpdateExpression="SET blocked = :t, blocked_at = :at, blocked_reason = :reason, "
        "blocked_until = :until, wa_id = :wa, phone_number_id = :pn, "
        "due_pk = :hk, due_sk = :sk",
        ExpressionAttributeValues=marshal(
            {
                ":t": True,
                ":at": now(),
                ":reason": reason,
                ":until": until,
                ":wa": wa_id,
                ":pn": phone_number_id,
                ":hk": HOUSEKEEPING_PARTITION,
                ":sk": _housekeeping_sk(until, pk),
            }
        ),
    )


def expire_at(pk: str, sk: str, at: float) -> None:
    """Register a state item (e.g. conversation state) for removal when its TTL passes."""
    dynamodb().update_item(
        TableName=table(),
        Key=marshal({"pk": pk, "sk": sk}),
        UpdateExpression="SET expires_at = :ttl, due_pk = :hk, due_sk = :sk",
        ExpressionAttributeValues=marshal(
            {":ttl": int(at), ":hk": HOUSEKEEPING_PARTITION, ":sk": _housekeeping_sk(at, pk)}
        ),
    )


def load(key: dict[str, Any]) -> dict[str, Any] | None:
    """The item a due key points at (strongly consistent: a decision follows)."""
    return get(str(key["pk"]), str(key["sk"]))


def unblock(key: dict[str, Any], at: float) -> bool:
    """Lift a temporary block that is over; False if it was extended or lifted meanwhile."""
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": key["pk"], "sk": key["sk"]}),
            UpdateExpression="SET blocked = :f, blocked_at = :at, blocked_reason = :reason "
            "REMOVE blocked_until, due_pk, due_sk",
            ConditionExpression="blocked_until <= :at",
            ExpressionAttributeValues=marshal(
                {":f": False, ":at": at, ":reason": "temporary block ended"}
            ),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def delete_expired(key: dict[str, Any], at: float) -> bool:
    """Delete an item whose TTL has passed; False if its TTL was pushed back meanwhile."""
    try:
        dynamodb().delete_item(
            TableName=table(),
            Key=marshal({"pk": key["pk"], "sk": key["sk"]}),
            ConditionExpression="expires_at <= :at",
            ExpressionAttributeValues=marshal({":at": int(at)}),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def drop_from_index(key: dict[str, Any], seen_sk: str) -> None:
    """Take an item that had nothing to do out of the index, unless it was re-registered
    (its due_sk changed) since it was read."""
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": key["pk"], "sk": key["sk"]}),
            UpdateExpression="REMOVE due_pk, due_sk",
            ConditionExpression="due_sk = :sk",
            ExpressionAttributeValues=marshal({":sk": seen_sk}),
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
