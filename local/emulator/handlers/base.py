"""Shared handler plumbing."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from ..core import Core
from ..errors import GraphError

Result = tuple[int, Any] | Response


def read_json(req: Request) -> Any:
    raw = req.get_data(cache=True)
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise GraphError(100, "Request body is not valid JSON.") from exc


def params(req: Request) -> dict[str, Any]:
    """Graph accepts parameters as JSON, form fields or query string; JSON wins."""
    out: dict[str, Any] = dict(req.args.items())
    if req.mimetype == "application/json":
        body = read_json(req)
        if isinstance(body, dict):
            out.update(body)
    else:
        out.update(req.form.items())
    return out


class Ctx:
    def __init__(self, core: Core, req: Request, version: str) -> None:
        self.core = core
        self.req = req
        self.version = version
