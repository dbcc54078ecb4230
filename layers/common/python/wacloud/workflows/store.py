"""Workflow definitions per tenant and one run record per started workflow.

* `{pnid}#WF` / `{workflow_id}`: a tenant's definition (the JSON, as data).
* `{pnid}#WFRUN#{workflow_id}#{key}` / `#`: a run: its status and the message ids of
  the steps it scheduled, so a cancelling event finds them without a scan. A
  cancellation that arrives before its start event leaves a `cancelled` run behind,
  and the late start then does nothing.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import now
from wacloud.infra.dynamo import get, is_conditional_failure, marshal, query, table

from .model import Workflow

RUN_TTL_SECONDS = 400 * 24 * 3600


def definitions_pk(phone_number_id: str) -> str:
    return f"{phone_number_id}#WF"


def run_pk(phone_number_id: str, workflow_id: str, key: str) -> str:
    return f"{phone_number_id}#WFRUN#{workflow_id}#{key}"


def shipped() -> dict[str, Workflow]:
    """The ready-made definitions in `definitions/*.json`."""
    folder = resources.files("wacloud.workflows") / "definitions"
    out: dict[str, Workflow] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            workflow = Workflow.model_validate(json.loads(entry.read_text()))
            out[workflow.id] = workflow
    return out


def install(phone_number_id: str, definition: Workflow | dict[str, Any]) -> Workflow:
    """Add or replace one of a tenant's workflows."""
    workflow = (
        definition if isinstance(definition, Workflow) else Workflow.model_validate(definition)
    )
    dynamodb().put_item(
        TableName=table(),
        Item=marshal(
            {
                "pk": definitions_pk(phone_number_id),
                "sk": workflow.id,
                "definition": workflow.model_dump_json(by_alias=True),
                "updated_at": now(),
            }
        ),
    )
    return workflow


def install_shipped(phone_number_id: str, names: list[str] | None = None) -> list[str]:
    """Give a tenant the shipped definitions (all, or the named ones)."""
    chosen = [w for w in shipped().values() if names is None or w.id in names]
    for workflow in chosen:
        install(phone_number_id, workflow)
    return [w.id for w in chosen]


def tenant_workflows(phone_number_id: str) -> list[Workflow]:
    return [
        Workflow.model_validate_json(str(item["definition"]))
        for item in query(definitions_pk(phone_number_id))
    ]


def load_run(phone_number_id: str, workflow_id: str, key: str) -> dict[str, Any] | None:
    return get(run_pk(phone_number_id, workflow_id, key))


def start_run(
    phone_number_id: str, workflow_id: str, key: str, message_ids: list[str], event_id: str
) -> bool:
    """Record the run's scheduled steps; False if the run was cancelled already."""
    at = now()
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": run_pk(phone_number_id, workflow_id, key), "sk": "#"}),
            UpdateExpression="SET #status = :active, started_at = if_not_exists(started_at, :at), "
            "event_id = :event, expires_at = :ttl ADD message_ids :ids",
            ConditionExpression="attribute_not_exists(#status) OR #status <> :cancelled",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=marshal(
                {
                    ":active": "active",
                    ":at": at,
                    ":event": event_id,
                    ":ttl": int(at + RUN_TTL_SECONDS),
                    ":ids": set(message_ids) if message_ids else {"-"},
                    ":cancelled": "cancelled",
                }
            ),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def cancel_run(phone_number_id: str, workflow_id: str, key: str, reason: str) -> list[str]:
    """Mark the run cancelled (creating it if the start has not arrived); returns the
    message ids of its steps."""
    at = now()
    response = dynamodb().update_item(
        TableName=table(),
        Key=marshal({"pk": run_pk(phone_number_id, workflow_id, key), "sk": "#"}),
        UpdateExpression="SET #status = :cancelled, cancelled_at = :at, cancel_reason = :why, "
        "expires_at = :ttl",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=marshal(
            {
                ":cancelled": "cancelled",
                ":at": at,
                ":why": reason,
                ":ttl": int(at + RUN_TTL_SECONDS),
            }
        ),
        ReturnValues="ALL_NEW",
    )
    ids = response["Attributes"].get("message_ids", {}).get("SS", [])
    return [i for i in ids if i != "-"]
