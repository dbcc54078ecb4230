"""Message templates: Meta's templates mirrored per WABA, and filled from data.

Public names for the other features (they import this package, never its modules):
the mirror's reads (`load_template`, `known_templates`, `sendable`), its webhook
(`TEMPLATE_FIELDS`, `apply_template_webhook`, and `webhook_changes` with `template_alerts`
for the alarms on a paused or RED template), and rendering a template's variables
from data (`template_message`, `check_against`, `render`, `RenderError`), shared by
campaigns (a recipient row) and workflows (an event's detail). The full sync
(`templates.sync.sync_templates`) is the TemplateSync function's.
"""

from __future__ import annotations

from .render import (
    RenderError,
    check_against,
    lookup,
    parse_time,
    render,
    template_components,
    template_message,
)
from .sync import (
    TEMPLATE_FIELDS,
    apply_template_webhook,
    known_templates,
    load_template,
    sendable,
    template_alerts,
    webhook_changes,
)

__all__ = [
    "TEMPLATE_FIELDS",
    "RenderError",
    "apply_template_webhook",
    "check_against",
    "known_templates",
    "load_template",
    "lookup",
    "parse_time",
    "render",
    "sendable",
    "template_alerts",
    "template_components",
    "template_message",
    "webhook_changes",
]
