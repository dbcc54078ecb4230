"""Filling template variables from data: shared by campaigns (a recipient row) and
workflows (an EventBridge event's detail).

A mapping names where each template parameter comes from, as text with `{path}`
placeholders: `"{first_name}"`, `"Hi {customer.name}"`, `"{starts_at:date}"`. Paths are
dotted keys into the data; an optional format renders ISO timestamps (`date`, `time`,
`datetime`, `weekday`). A missing value is an error, never an empty parameter: Meta
fails empty parameters (132000 family) and the recipient would get a broken message.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from wacloud.errors import InputError

_FIELD = re.compile(r"\{([A-Za-z0-9_.\-]+)(?::([a-z_]+))?\}")
_FORMATS = {
    "date": "%d %b %Y",
    "time": "%H:%M",
    "datetime": "%d %b %Y %H:%M",
    "weekday": "%A",
}


class RenderError(InputError, ValueError):
    """A mapping refers to data that is not there (or not a time where a format asks)."""


def lookup(data: Any, path: str) -> Any:
    value = data
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def parse_time(value: Any) -> datetime:
    if isinstance(value, int | float):
        from datetime import UTC

        return datetime.fromtimestamp(float(value), tz=UTC)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise RenderError(f"not an ISO-8601 time: {str(value)[:40]!r}") from exc
    if moment.tzinfo is None:
        raise RenderError(f"time without a UTC offset: {str(value)[:40]!r}")
    return moment


def render(text: str, data: Any) -> str:
    """Fill every `{path[:format]}` in `text` from `data`."""

    def replace(match: re.Match[str]) -> str:
        path, fmt = match.group(1), match.group(2)
        value = lookup(data, path)
        if value is None or value == "":
            raise RenderError(f"no value for {{{path}}}")
        if fmt:
            if fmt not in _FORMATS:
                raise RenderError(f"unknown format {fmt!r} (use {', '.join(_FORMATS)})")
            return parse_time(value).strftime(_FORMATS[fmt])
        return str(value)

    out = _FIELD.sub(replace, text)
    if not out.strip():
        raise RenderError(f"mapping {text!r} rendered empty")
    return out


def _text_params(mapping: Any, data: Any) -> list[dict[str, Any]]:
    if isinstance(mapping, dict):  # NAMED: {parameter_name: text}
        return [
            {"type": "text", "parameter_name": name, "text": render(str(text), data)}
            for name, text in mapping.items()
        ]
    return [{"type": "text", "text": render(str(text), data)} for text in mapping]


def template_components(variables: dict[str, Any] | None, data: Any) -> list[dict[str, Any]]:
    """Graph `template.components` (docs/meta/templates.md#sending) from a variables mapping.

    `variables`: {"header": [...] | {...}, "body": [...] | {...},
    "buttons": [{"index": 0, "sub_type": "url", "values": ["{code}"]}]}.
    """
    components: list[dict[str, Any]] = []
    for kind in ("header", "body"):
        mapping = (variables or {}).get(kind)
        if mapping:
            components.append({"type": kind, "parameters": _text_params(mapping, data)})
    for button in (variables or {}).get("buttons") or []:
        sub_type = button.get("sub_type", "url")
        key = "payload" if sub_type == "quick_reply" else "text"
        components.append(
            {
                "type": "button",
                "sub_type": sub_type,
                "index": str(button.get("index", 0)),
                "parameters": [
                    {"type": key, key: render(str(v), data)} for v in button.get("values", [])
                ],
            }
        )
    return components


def template_message(
    name: str, language: str, variables: dict[str, Any] | None, data: Any
) -> dict[str, Any]:
    """The type-specific part of a template submission."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    components = template_components(variables, data)
    if components:
        template["components"] = components
    return {"type": "template", "template": template}


def check_against(variables: dict[str, Any] | None, parameters: dict[str, Any]) -> list[str]:
    """Problems between a mapping and a mirrored template's `parameters` (templates.py).

    Catches the mistakes that would make Meta fail every message of a campaign.
    """
    problems: list[str] = []
    for kind in ("header", "body"):
        want = parameters.get(kind)
        if isinstance(want, dict):  # media header: nothing to map here
            continue
        have = (variables or {}).get(kind)
        if isinstance(want, list):  # NAMED
            names = sorted(have) if isinstance(have, dict) else None
            if names != sorted(want):
                problems.append(f"{kind}: template expects named parameters {sorted(want)}")
        elif isinstance(want, int):
            count = len(have) if isinstance(have, list) else 0
            if count != want:
                problems.append(
                    f"{kind}: template expects {want} parameter(s), mapping has {count}"
                )
        elif have:
            problems.append(f"{kind}: template has no parameters here")
    return problems
