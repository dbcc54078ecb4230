"""Workflows: templates sent on business events, now and at offsets (docs/campaigns.md).

`Step` and `Workflow` (pydantic models) load on first access (PEP 562 ``__getattr__``),
not with the package, so WorkflowTrigger's cold start does not import pydantic; the
first event that reads a tenant's definitions loads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wacloud.store.workflow_failures import failures_for
from wacloud.store.workflows import load_run

from .catalog import install, install_shipped, set_enabled, shipped, tenant_workflows
from .engine import EventReport, handle_event
from .events import EventNotPublishedError, EventRefusedError, publish_event, source_prefix
from .failures import InvalidEventError

if TYPE_CHECKING:
    from wacloud.models.workflow import Step, Workflow

_MODELS = frozenset({"Step", "Workflow"})


def __getattr__(name: str) -> Any:
    """The definition models, imported on first use (see the module docstring)."""
    if name in _MODELS:
        from wacloud.models import workflow

        return getattr(workflow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EventNotPublishedError",
    "EventRefusedError",
    "EventReport",
    "InvalidEventError",
    "Step",
    "Workflow",
    "failures_for",
    "handle_event",
    "install",
    "install_shipped",
    "load_run",
    "publish_event",
    "set_enabled",
    "shipped",
    "source_prefix",
    "tenant_workflows",
]
