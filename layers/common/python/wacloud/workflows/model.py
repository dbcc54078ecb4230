"""Workflows as data: "on this event, send these templates at these times". No I/O.

A definition (JSON, one per workflow per tenant) says which EventBridge `detail-type`
starts it, where the correlation key and the recipient(s) are in the event's detail,
which detail-types cancel its pending steps, and its steps: a template with a
variables mapping (`{path}` into the detail, see templates/render.py) sent `now` or at
an offset from a time in the detail (`-7d`, `-1d`, `0d` with `at_time`, `+3d`).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from wacloud.templates import RenderError, lookup, parse_time

if TYPE_CHECKING:
    from wacloud.models.workflow import At, Step, Workflow

__all__ = ["At", "Step", "Workflow", "parse_offset", "recipients", "step_time"]
_MODELS = frozenset({"At", "Step", "Workflow"})


def __getattr__(name: str) -> Any:
    """The definition models (`wacloud.models.workflow`), loaded on first use so that
    importing the engine does not import pydantic (WorkflowTrigger's cold start)."""
    if name in _MODELS:
        from wacloud.models import workflow

        return getattr(workflow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_OFFSET = re.compile(r"^([+-]?)(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_offset(text: str) -> timedelta:
    match = _OFFSET.match(text)
    if not match:
        raise ValueError(f"bad offset {text!r}")
    sign = -1 if match.group(1) == "-" else 1
    return sign * timedelta(**{_UNITS[match.group(3)]: int(match.group(2))})


def step_time(step: Step, detail: dict[str, Any]) -> datetime | None:
    """When a step is due (None: now)."""
    if step.at == "now":
        return None
    from wacloud.models.workflow import At  # loaded already: ``step`` is one of its models

    assert isinstance(step.at, At)
    value = lookup(detail, step.at.from_)
    if value is None:
        raise RenderError(f"no time at {step.at.from_!r}")
    moment = parse_time(value) + parse_offset(step.at.offset)
    if step.at.at_time:
        hour, minute = (int(p) for p in step.at.at_time.split(":"))
        moment = datetime.combine(moment.date(), time(hour, minute), tzinfo=moment.tzinfo)
    return moment


def recipients(workflow: Workflow, detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The recipients an event names, each as a dict with at least `wa_id`."""
    value = lookup(detail, workflow.recipient)
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for raw in items:
        item = {"wa_id": str(raw)} if isinstance(raw, str | int) else raw
        if isinstance(item, dict):
            digits = re.sub(r"[^0-9]", "", str(item.get("wa_id") or item.get("phone") or ""))
            if 7 <= len(digits) <= 15:  # E.164: at most 15 digits
                out.append({**item, "wa_id": digits})
    return out
