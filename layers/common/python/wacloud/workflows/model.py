"""Workflows as data: "on this event, send these templates at these times". No I/O.

A definition (JSON, one per workflow per tenant) says which EventBridge `detail-type`
starts it, where the correlation key and the recipient(s) are in the event's detail,
which detail-types cancel its pending steps, and its steps: a template with a
variables mapping (`{path}` into the detail, see campaigns/render.py) sent `now` or at
an offset from a time in the detail (`-7d`, `-1d`, `0d` with `at_time`, `+3d`).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wacloud.campaigns.render import RenderError, lookup, parse_time

_OFFSET = re.compile(r"^([+-]?)(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class At(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Path of an ISO-8601 time (with offset) in the event detail.
    from_: Annotated[str, Field(alias="from")]
    offset: Annotated[str, Field(pattern=r"^[+-]?\d+[dhm]$")] = "0d"
    # Local time of day (in the detail time's own UTC offset) after the day offset,
    # e.g. "09:00" for "on the morning of the day".
    at_time: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")] | None = None


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    language: str = "en_US"
    at: Literal["now"] | At = "now"
    variables: dict[str, Any] | None = None
    priority: Annotated[int, Field(ge=0, le=9)] = 5


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    description: str = ""
    on: str  # EventBridge detail-type that starts it
    cancel_on: list[str] = Field(default_factory=list)
    key: str  # path of the correlation id in the detail (booking id, invoice id...)
    recipient: str = "customer"  # path: a wa_id, {"wa_id": ...}, or a list of those
    steps: Annotated[list[Step], Field(min_length=1, max_length=20)]
    enabled: bool = True


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
