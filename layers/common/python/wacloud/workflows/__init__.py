"""Workflows: templates sent on business events, now and at offsets (docs/campaigns.md)."""

from __future__ import annotations

from .engine import EventReport, handle_event
from .model import Step, Workflow
from .store import install, install_shipped, shipped, tenant_workflows

__all__ = [
    "EventReport",
    "Step",
    "Workflow",
    "handle_event",
    "install",
    "install_shipped",
    "shipped",
    "tenant_workflows",
]
