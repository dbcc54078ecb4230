"""Workflow definitions per tenant and one run record per started workflow.

* `{pnid}#WF` / `{workflow_id}`: a tenant's definition (the JSON, as data).
* `{pnid}#WFRUN#{workflow_id}#{key}` / `#`: a run: its status and the message ids of
  the steps it scheduled, so a cancelling event finds them without a scan. A
  cancellation that arrives before its start event leaves a `cancelled` run behind,
  and the late start then does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, conditional_update, get, put, query, update

if TYPE_CHECKING:
    from wacloud.models.workflow import Workflow

RUN_TTL_SECONDS = 400 * 24 * 3600
# A string set cannot be empty: a run with no later steps holds this placeholder.
NO_MESSAGE = "-"


def definitions_pk(phone_number_id: str) -> str:
    return f"{phone_number_id}#WF"


def run_pk(phone_number_id: str, workflow_id: str, key: str) -> str:
    return f"{phone_number_id}#WFRUN#{workflow_id}#{key}"


def put_definition(phone_number_id: str, workflow: Workflow) -> None:
    """Add or replace one of a tenant's workflows."""
    put(
        {
            "pk": definitions_pk(phone_number_id),
            "sk": workflow.id,
            "definition": workflow.model_dump_json(by_alias=True),
            "updated_at": now(),
        }
    )


def tenant_workflows(phone_number_id: str) -> list[Workflow]:
    # Imported here: the model (and pydantic) loads with the first definitions read,
    # not with WorkflowTrigger's cold start (its run records need no model).
    from wacloud.models.workflow import Workflow

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
    expr = Expr().set("status", "active").set_if_absent("started_at", at)
    expr.set("event_id", event_id).set("expires_at", int(at + RUN_TTL_SECONDS))
    expr.add("message_ids", set(message_ids) if message_ids else {NO_MESSAGE})
    status = expr.name("status")
    expr.when(f"attribute_not_exists({status}) OR {status} <> {expr.value('cancelled')}")
    return conditional_update(run_pk(phone_number_id, workflow_id, key), "#", expr)


def cancel_run(phone_number_id: str, workflow_id: str, key: str, reason: str) -> list[str]:
    """Mark the run cancelled (creating it if the start has not arrived); returns the
    message ids of its steps."""
    at = now()
    expr = Expr().set("status", "cancelled").set("cancelled_at", at)
    expr.set("cancel_reason", reason).set("expires_at", int(at + RUN_TTL_SECONDS))
    run = update(run_pk(phone_number_id, workflow_id, key), "#", expr, returns="ALL_NEW")
    return [i for i in run.attributes.get("message_ids", ()) if i != NO_MESSAGE]
