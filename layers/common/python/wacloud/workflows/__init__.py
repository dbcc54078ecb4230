"""Workflows: templates sent on business events, now and at offsets (docs/campaigns.md)."""

from __future__ import annotations

from wacloud.workflows.store import install, install_shipped, shipped, tenant_workflows

from .engine import EventReport, handle_event
from .failures import InvalidEventError, failures_for
from .model import Step, Workflow

__all__ = [
    "EventReport",
    "InvalidEventError",
    "Step",
    "Workflow",
    "failures_for",
    "handle_event",
    "install",
    "install_shipped",
    "shipped",
    "tenant_workflows",
]
