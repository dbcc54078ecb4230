"""Small typed accessors that raise Meta's errors with a useful ``details`` string."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..errors import GraphError, bad_param, invalid, missing

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def as_obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_param(path, "must be a JSON object.")
    return value


def req(d: dict[str, Any], key: str, path: str) -> Any:
    if key not in d or d[key] is None:
        raise missing(f"{path}['{key}']" if path else key)
    return d[key]


def string(
    d: dict[str, Any],
    key: str,
    path: str,
    *,
    required: bool = False,
    max_len: int | None = None,
    min_len: int = 0,
    allow_empty: bool = True,
) -> str | None:
    full = f"{path}['{key}']" if path else key
    if key not in d or d[key] is None:
        if required:
            raise missing(full)
        return None
    v = d[key]
    if not isinstance(v, str):
        raise bad_param(full, "must be a string.")
    if not allow_empty and v == "" and required:
        raise missing(full)
    if max_len is not None and len(v) > max_len:
        raise bad_param(full, f"must be at most {max_len} characters long.")
    if len(v) < min_len:
        raise bad_param(full, f"must be at least {min_len} characters long.")
    return v


def req_str(d: dict[str, Any], key: str, path: str, max_len: int | None = None) -> str:
    v = string(d, key, path, required=True, max_len=max_len, allow_empty=False)
    assert v is not None
    return v


def boolean(d: dict[str, Any], key: str, path: str) -> bool | None:
    if key not in d:
        return None
    v = d[key]
    if not isinstance(v, bool):
        raise bad_param(f"{path}['{key}']", "must be a boolean.")
    return v


def array(
    d: dict[str, Any],
    key: str,
    path: str,
    *,
    required: bool = False,
    min_items: int = 0,
    max_items: int | None = None,
) -> list[Any]:
    full = f"{path}['{key}']" if path else key
    if key not in d or d[key] is None:
        if required:
            raise missing(full)
        return []
    v = d[key]
    if not isinstance(v, list):
        raise bad_param(full, "must be an array.")
    if len(v) < min_items:
        if min_items == 1 and required:
            raise missing(full)
        raise bad_param(full, f"must have at least {min_items} elements.")
    if max_items is not None and len(v) > max_items:
        raise bad_param(full, f"must have at most {max_items} elements.")
    return v


def no_unknown(d: dict[str, Any], allowed: Iterable[str], path: str) -> None:
    allowed_set = set(allowed)
    for k in d:
        if k not in allowed_set:
            where = f"{path}['{k}']" if path else k
            raise GraphError(100, f'Unexpected key "{k}" on param {where}.')


def enum(value: Any, allowed: Iterable[str], path: str) -> str:
    options = list(allowed)
    if not isinstance(value, str) or value not in options:
        raise invalid(path, f"must be one of {{{', '.join(options)}}}.")
    return value


def url(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _URL.match(value):
        raise invalid(path, "must be a valid http or https URL.")
    return value


def number(value: Any, path: str) -> float:
    """Numbers or numeric strings (OAS uses strings, Meta's examples numbers;
    docs/meta/limits.md#contacts-and-location)."""
    if isinstance(value, bool):
        raise bad_param(path, "must be a number.")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise bad_param(path, "must be a number.")
