"""Campaign records in the state table.

* `{pnid}#CMP#{id}` / `#`: the campaign (spec, status, list, byte cursor, fan-out
  counters). While not finished it sits in gsi1 under `CMP#ACTIVE` (sorted by start
  time), so a run finds the campaigns to work on with one query.
* same partition / `M#{message_id}`: the message's figures item: the set of figures
  it has reached (`figures`) and its variant (see `counters`).
* same partition / `N#{variant}#{shard}`: status counters of campaigns counted before
  the figures items; only read now (their `M#` markers carry a `levels` list).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from wacloud.errors import ConflictError
from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import iso, now
from wacloud.infra.dynamo import (
    get,
    is_conditional_failure,
    marshal,
    put_if_absent,
    query,
    table,
    unmarshal,
)

ACTIVE_INDEX_PK = "CMP#ACTIVE"
LEASE_SECONDS = 90  # longer than a QueueProcessor run (timeout 60 s)


class CampaignStateError(ConflictError, RuntimeError):
    """The requested change does not apply to the campaign's current status."""


def campaign_pk(phone_number_id: str, campaign_id: str) -> str:
    return f"{phone_number_id}#CMP#{campaign_id}"


def new_campaign_id() -> str:
    return "c" + uuid.uuid4().hex[:16]


def put_new(item: dict[str, Any]) -> bool:
    """Create a campaign item once (the shared conditional put)."""
    return put_if_absent(item)


def load(phone_number_id: str, campaign_id: str) -> dict[str, Any] | None:
    return get(campaign_pk(phone_number_id, campaign_id))


def active(until: float) -> list[dict[str, Any]]:
    """Campaigns not finished whose start time has come (oldest start first)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :p AND gsi1sk <= :until",
        "ExpressionAttributeValues": marshal({":p": ACTIVE_INDEX_PK, ":until": f"{iso(until)}#~"}),
    }
    while True:
        response = dynamodb().query(**kwargs)
        items.extend(unmarshal(i) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def set_status(
    phone_number_id: str,
    campaign_id: str,
    to: str,
    allowed_from: tuple[str, ...],
    *,
    completed_since: float | None = None,
) -> None:
    """Pause / resume / cancel: a conditional move between statuses.

    `completed_since`: also allow the move from `completed` if the campaign completed
    at or after that time.
    """
    at = now()
    values: dict[str, Any] = {":to": to, ":at": at}
    values.update({f":f{i}": s for i, s in enumerate(allowed_from)})
    allowed = [f":f{i}" for i in range(len(allowed_from))]
    condition = f"#status IN ({', '.join(allowed)})"
    if completed_since is not None:
        condition += " OR (#status = :completed AND completed_at >= :since)"
        values.update({":completed": "completed", ":since": completed_since})
    update = "SET #status = :to, updated_at = :at, #stamp = :at"
    if to == "cancelled":
        update += " REMOVE gsi1pk, gsi1sk"
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": campaign_pk(phone_number_id, campaign_id), "sk": "#"}),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status", "#stamp": f"{to}_at"},
            ExpressionAttributeValues=marshal(values),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            current = load(phone_number_id, campaign_id)
            state = current.get("status") if current else "missing"
            raise CampaignStateError(
                f"campaign {campaign_id} is {state}; cannot become {to}"
            ) from None
        raise


def lease(item: dict[str, Any], at: float) -> tuple[str, dict[str, Any]] | None:
    """Take the campaign for one run: (lease token, the campaign as it is now), or None
    if another run holds it or it is not runnable.

    The run works from the returned item, not from `item` (read from gsi1, which lags
    the table): a cursor read there could be a commit behind, and the run would re-queue
    a slice and then fail to commit.
    """
    token = uuid.uuid4().hex
    try:
        response = dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": item["pk"], "sk": "#"}),
            UpdateExpression="SET lease_until = :until, lease_token = :token",
            ConditionExpression="#status IN (:scheduled, :running) "
            "AND (attribute_not_exists(lease_until) OR lease_until < :at)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=marshal(
                {
                    ":until": at + LEASE_SECONDS,
                    ":token": token,
                    ":at": at,
                    ":scheduled": "scheduled",
                    ":running": "running",
                }
            ),
            ReturnValues="ALL_NEW",
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return None
        raise
    return token, unmarshal(response["Attributes"])


def commit(
    item: dict[str, Any],
    token: str,
    new_cursor: int,
    counts: dict[str, int],
    *,
    done: bool,
) -> bool:
    """Record one run's progress: the cursor moves and the counters grow together, and
    only for the lease holder whose view of the cursor is still current, so a slice
    is counted once even when it was enqueued twice (the sender dedupes the sends)."""
    at = now()
    names: dict[str, str] = {"#status": "status"}
    values: dict[str, Any] = {
        ":cursor": new_cursor,
        ":old": int(item.get("list_cursor", 0)),
        ":token": token,
        ":at": at,
        ":one": 1,
        ":running": "running",
        ":scheduled": "scheduled",
    }
    sets = ["list_cursor = :cursor", "updated_at = :at", "last_run_at = :at"]
    adds = ["runs :one"]
    for i, (name, value) in enumerate(counts.items()):
        if value:
            names[f"#c{i}"] = name
            values[f":c{i}"] = value
            adds.append(f"#c{i} :c{i}")
    # A pause that arrived during the run stays a pause.
    if done:
        values[":done"] = "completed"
        sets += ["#status = :done", "completed_at = :at"]
        removes = " REMOVE gsi1pk, gsi1sk, lease_until, lease_token"
    else:
        sets.append("#status = :running")
        removes = " REMOVE lease_until, lease_token"
    update = "SET " + ", ".join(sets) + " ADD " + ", ".join(adds) + removes
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": item["pk"], "sk": "#"}),
            UpdateExpression=update,
            ConditionExpression="lease_token = :token AND list_cursor = :old "
            "AND #status IN (:scheduled, :running)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=marshal(values),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return _commit_paused(item, token, new_cursor, counts, values)
        raise
    return True


def _commit_paused(
    item: dict[str, Any],
    token: str,
    new_cursor: int,
    counts: dict[str, int],
    values: dict[str, Any],
) -> bool:
    """Paused (or cancelled) mid-run: keep the progress, leave the status alone."""
    names: dict[str, str] = {}
    adds = ["runs :one"]
    vals = {k: values[k] for k in (":cursor", ":old", ":token", ":at", ":one")}
    for i, (name, value) in enumerate(counts.items()):
        if value:
            names[f"#c{i}"] = name
            vals[f":c{i}"] = value
            adds.append(f"#c{i} :c{i}")
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "Key": marshal({"pk": item["pk"], "sk": "#"}),
        "UpdateExpression": "SET list_cursor = :cursor, updated_at = :at ADD "
        + ", ".join(adds)
        + " REMOVE lease_until, lease_token",
        "ConditionExpression": "lease_token = :token AND list_cursor = :old",
        "ExpressionAttributeValues": marshal(vals),
    }
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        dynamodb().update_item(**kwargs)
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def counter_items(phone_number_id: str, campaign_id: str) -> list[dict[str, Any]]:
    return query(campaign_pk(phone_number_id, campaign_id), sk_prefix="N#")


def figures_items(phone_number_id: str, campaign_id: str) -> Iterator[dict[str, Any]]:
    """Every message's figures item of a campaign, page by page (only what `stats` reads).

    Eventually consistent, at half the read cost: a figure counted a moment ago may
    show on the next read.
    """
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ProjectionExpression": "#figures, #levels, #variant",
        "ExpressionAttributeNames": {
            "#figures": "figures",
            "#levels": "levels",
            "#variant": "variant",
        },
        "ExpressionAttributeValues": marshal(
            {":pk": campaign_pk(phone_number_id, campaign_id), ":prefix": "M#"}
        ),
    }
    while True:
        response = dynamodb().query(**kwargs)
        for raw in response.get("Items", []):
            yield unmarshal(raw)
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
