"""Workflows: templates sent on business events, now and at offsets (docs/campaigns.md)."""

from __future__ import annotations

from wacloud.models.workflow import Step, Workflow
from wacloud.store.workflow_failures import failures_for
from wacloud.store.workflows import load_run

from .catalog import install, install_shipped, shipped, tenant_workflows
from .engine import EventReport, handle_event
from .failures import InvalidEventError

__all__ = [
    "EventReport",
    "InvalidEventError",
    "Step",
    "Workflow",
    "failures_for",
    "handle_event",
    "install",
    "install_shipped",
    "load_run",
    "shipped",
    "tenant_workflows",
]
