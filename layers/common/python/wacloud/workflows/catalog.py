"""Which workflows a tenant runs: the shipped, ready-made definitions and installing
them (or the tenant's own). Storage is `wacloud.store.workflows`'s.

The definition model (pydantic) is imported by the functions that validate, not with
the module: WorkflowTrigger's cold start imports this package and should not pay for it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from wacloud.store import workflows as store

if TYPE_CHECKING:
    from wacloud.models.workflow import Workflow


def shipped() -> dict[str, Workflow]:
    """The ready-made definitions in `definitions/*.json`."""
    from wacloud.models.workflow import Workflow

    folder = resources.files("wacloud.workflows") / "definitions"
    out: dict[str, Workflow] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            workflow = Workflow.model_validate(json.loads(entry.read_text()))
            out[workflow.id] = workflow
    return out


def install(phone_number_id: str, definition: Workflow | dict[str, Any]) -> Workflow:
    """Add or replace one of a tenant's workflows (validated first)."""
    from wacloud.models.workflow import Workflow

    workflow = (
        definition if isinstance(definition, Workflow) else Workflow.model_validate(definition)
    )
    store.put_definition(phone_number_id, workflow)
    return workflow


def install_shipped(phone_number_id: str, names: list[str] | None = None) -> list[str]:
    """Give a tenant the shipped definitions (all, or the named ones)."""
    chosen = [w for w in shipped().values() if names is None or w.id in names]
    for workflow in chosen:
        install(phone_number_id, workflow)
    return [w.id for w in chosen]


def tenant_workflows(phone_number_id: str) -> list[Workflow]:
    return store.tenant_workflows(phone_number_id)


def set_enabled(phone_number_id: str, workflow_id: str, enabled: bool) -> Workflow | None:
    """Turn one of the tenant's installed workflows on or off; None if not installed."""
    for workflow in store.tenant_workflows(phone_number_id):
        if workflow.id == workflow_id:
            changed = workflow.model_copy(update={"enabled": enabled})
            store.put_definition(phone_number_id, changed)
            return changed
    return None
