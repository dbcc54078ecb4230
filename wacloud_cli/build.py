"""Request bodies from command-line flags: submissions, times, key=value pairs, segments."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wacloud_cli.errors import CliError, ExitCode

_RELATIVE = re.compile(r"^\+?(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def usage(message: str) -> CliError:
    return CliError(ExitCode.USAGE, message, code="usage")


def parse_when(text: str, *, now: dt.datetime | None = None, future: bool = True) -> dt.datetime:
    """ISO-8601 (no zone = local time), epoch seconds, or relative `+10m`/`2h`/`90d`
    (ahead of now when `future`, else before now: `--since 7d`)."""
    now = now or dt.datetime.now(dt.UTC)
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        delta = dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
        return now + delta if future else now - delta
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise usage(
            f"not a time: {value!r} (ISO-8601 like 2026-05-01T09:00, epoch seconds, or +10m/2h/7d)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # the local zone, as a person typing it means
    return parsed


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def key_values(pairs: Sequence[str], *, what: str = "--set") -> dict[str, Any]:
    """`name=value` pairs; `name=` means null (remove). Values that are JSON numbers,
    booleans or null become those; anything else is a string."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise usage(f"{what} takes name=value, got {pair!r}")
        result[key.strip()] = scalar(raw)
    return result


def scalar(raw: str) -> Any:
    if raw == "":
        return None
    if raw in ("true", "false", "null") or re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return json.loads(raw)
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def load_json(path_or_text: str, *, what: str) -> Any:
    """A JSON document from a file path, `-` (stdin) or inline text starting with { or [."""
    text = path_or_text
    if path_or_text == "-":
        import sys

        text = sys.stdin.read()
    elif path_or_text.lstrip()[:1] not in "[{":
        try:
            text = Path(path_or_text).read_text(encoding="utf-8")
        except OSError as exc:
            raise usage(f"cannot read {what} {path_or_text!r}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise usage(f"{what} is not valid JSON (line {getattr(exc, 'lineno', '?')})") from exc


def template_object(name: str, language: str, params: Sequence[str]) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if params:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
        ]
    return template


def submission(
    *,
    number: str | None,
    to: str | None,
    text: str | None,
    template: str | None,
    language: str,
    params: Sequence[str],
    file: str | None,
    idempotency_key: str | None,
    send_at: dt.datetime | None,
    preview_url: bool = False,
) -> dict[str, Any]:
    """A submission document (schema/submission.schema.json) from `send`'s flags."""
    chosen = [x for x in (text is not None, template is not None, file is not None) if x]
    if len(chosen) != 1:
        raise usage("give exactly one of --text, --template or --file")
    if params and template is None:
        raise usage("--param goes with --template")
    document: dict[str, Any]
    if file is not None:
        loaded = load_json(file, what="the submission file")
        if not isinstance(loaded, dict):
            raise usage("the submission file must hold one JSON object")
        document = loaded
    elif text is not None:
        document = {"type": "text", "text": {"body": text}}
        if preview_url:
            document["text"]["preview_url"] = True
    else:
        assert template is not None
        document = {"type": "template", "template": template_object(template, language, params)}
    if to is not None:
        document["to"] = to
    if number is not None and "phone_number_id" not in document:
        document["phone_number_id"] = number
    if idempotency_key is not None:
        document["idempotency_key"] = idempotency_key
    if send_at is not None:
        document["send_at"] = iso(send_at)
    for required in ("phone_number_id", "to"):
        if not document.get(required):
            flag = "--number" if required == "phone_number_id" else "--to"
            raise usage(f"{flag} is needed (or {required} in the file)")
    return document


_ATTRIBUTE = re.compile(r"^\s*([^\s]+)\s+(eq|ne|gt|gte|lt|lte|before|after|exists)(?:\s+(.*))?$")


def attribute_filter(text: str) -> dict[str, Any]:
    """`"name op value"`, e.g. `"visits gte 3"`, `"renewal before 2026-06-01"`, `"vip exists"`."""
    match = _ATTRIBUTE.match(text)
    if not match:
        raise usage(
            f"--attr takes 'name op value' (op: eq ne gt gte lt lte before after exists), "
            f"got {text!r}"
        )
    name, op, raw = match.groups()
    condition: dict[str, Any] = {"name": name, "op": op}
    if op != "exists":
        if raw is None:
            raise usage(f"--attr {name} {op} needs a value")
        condition["value"] = scalar(raw.strip())
    return condition


def segment(
    *,
    tags_any: Sequence[str],
    tags_all: Sequence[str],
    attributes: Sequence[str],
    last_seen_before: str | None,
    last_seen_after: str | None,
    include_opted_out: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"opted_out": False} if not include_opted_out else {}
    if tags_any:
        spec["tags_any"] = list(tags_any)
    if tags_all:
        spec["tags_all"] = list(tags_all)
    if attributes:
        spec["attributes"] = [attribute_filter(a) for a in attributes]
    if last_seen_before:
        spec["last_seen_before"] = last_seen_before
    if last_seen_after:
        spec["last_seen_after"] = last_seen_after
    return spec
