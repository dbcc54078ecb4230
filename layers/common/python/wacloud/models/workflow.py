"""A workflow definition as data: "on this event, send these templates at these times".

Pure pydantic, no I/O and no feature imports, so the store (`store/workflows.py`)
can read and write definitions and the engine (`wacloud.workflows`) can run them. The
meaning of the fields (event paths, offsets) is `wacloud.workflows.model`'s.

Cold start: every model sets ``defer_build`` (its validator is built on first use, not
at import) and the module does not use ``from __future__ import annotations`` (pydantic
would otherwise ``eval`` every annotation string while creating each class).
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class At(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    # Path of an ISO-8601 time (with offset) in the event detail.
    from_: Annotated[str, Field(alias="from")]
    offset: Annotated[str, Field(pattern=r"^[+-]?\d+[dhm]$")] = "0d"
    # Local time of day (in the detail time's own UTC offset) after the day offset,
    # e.g. "09:00" for "on the morning of the day".
    at_time: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")] | None = None


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    language: str = "en_US"
    at: Literal["now"] | At = "now"
    variables: dict[str, Any] | None = None
    priority: Annotated[int, Field(ge=0, le=9)] = 5


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    description: str = ""
    on: str  # EventBridge detail-type that starts it
    cancel_on: list[str] = Field(default_factory=list)
    key: str  # path of the correlation id in the detail (booking id, invoice id...)
    recipient: str = "customer"  # path: a wa_id, {"wa_id": ...}, or a list of those
    steps: Annotated[list[Step], Field(min_length=1, max_length=20)]
    enabled: bool = True
