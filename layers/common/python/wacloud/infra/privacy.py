"""Validation errors without the values that failed validation.

A pydantic ``ValidationError`` carries the rejected input: ``str(exc)`` prints each
``input_value`` (a customer's number, their message text, a link), ``errors()``
returns it under ``input`` and often in ``ctx``, and an exception chained with
``from exc`` prints it again in every traceback. README promises that logs never
carry phone numbers or message text, so anything derived from a validation error
that reaches a log line, a record operators read, or an exception that escapes a
handler goes through this module first.

What is kept: where (``loc``, with keys that are not identifier-like replaced by
``"<key>"``: a customer can put their number in a key), what kind (``type``), and
pydantic's or our message (``msg``), with any input value that appears in it
replaced by ``"<value>"``. Nothing else (no ``input``, no ``ctx``, no ``url``).

This module does not import pydantic at run time (only for type checking): most
callers want ``mask_phone``, and pydantic_core alone costs tens of milliseconds of
a cold start. ``is_validation_error`` finds ``ValidationError`` in ``sys.modules``:
if pydantic_core was never imported, no ``ValidationError`` can exist.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, TypeGuard

from wacloud.errors import InputError

if TYPE_CHECKING:
    from pydantic import ValidationError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
REDACTED_KEY = "<key>"
REDACTED_VALUE = "<value>"
# Input values shorter than this are not searched for in a message: "a" or "12"
# would mangle ordinary words and limits while revealing nothing about a person.
_MIN_REDACT_LEN = 4
_MAX_LEAVES = 500
MAX_SUMMARY_CHARS = 2000
"""Longest ``summary``: a record's reason stays small whatever the input."""

# pydantic's own messages that quote the input, rewritten without it. Messages of our
# own validators (value_error, PydanticCustomError) never embed the input (tested);
# ``redact`` is the net under that rule.
_REWRITE: dict[str, str] = {
    "union_tag_invalid": "unsupported value for the field that selects the kind of object",
}


class ErrorDetail(TypedDict):
    """One validation problem, safe to log: no input, no ctx."""

    loc: list[int | str]
    type: str
    msg: str


def safe_loc(loc: Sequence[int | str]) -> list[int | str]:
    """``loc`` with every key that is not a plain identifier replaced by ``<key>``."""
    return [p if isinstance(p, int) or _IDENTIFIER.match(p) else REDACTED_KEY for p in loc]


def _leaves(value: Any, depth: int = 0) -> Iterator[str]:
    """String forms of the scalar values inside ``value`` (bounded walk)."""
    if depth > 8:
        return
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str | int | float):
        yield str(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _leaves(v, depth + 1)
    elif hasattr(value, "__dict__"):  # a model instance (model-level "after" validators)
        yield from _leaves(vars(value), depth + 1)


def redact(text: str, value: Any) -> str:
    """``text`` with ``value``, or the scalars inside it, replaced by ``<value>``.

    A scalar ``value`` (a field's input) of 4+ characters is always removed. Inside a
    container (the input of a model-level check) plain words such as ``text`` or
    ``image`` are left alone, as they are the vocabulary of the messages themselves;
    numbers, URLs and free text (anything with a digit, space or punctuation) go.
    The longest values go first so a value that contains another is removed whole.
    """
    scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
    found: set[str] = set()
    for leaf in _leaves(value):
        if len(leaf) >= _MIN_REDACT_LEN and (scalar or not _IDENTIFIER.match(leaf)):
            found.add(leaf)
        if len(found) >= _MAX_LEAVES:
            break
    for leaf in sorted(found, key=len, reverse=True):
        if leaf in text:
            text = text.replace(leaf, REDACTED_VALUE)
    return text


def safe_msg(error: Any) -> str:
    """One pydantic error dict's message without any input value in it."""
    kind = str(error.get("type", ""))
    msg = _REWRITE.get(kind) or str(error.get("msg", ""))
    return redact(msg, error.get("input"))


def scrub_errors(exc: ValidationError) -> list[ErrorDetail]:
    """The errors of ``exc`` as ``{loc, type, msg}`` with no input values."""
    return [
        ErrorDetail(loc=safe_loc(tuple(e["loc"])), type=str(e["type"]), msg=safe_msg(e))
        for e in exc.errors(include_url=False, include_context=False, include_input=True)
    ]


def format_loc(loc: Sequence[int | str]) -> str:
    """``("a", 0, "b")`` as ``a[0].b``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def summary(errors: Sequence[ErrorDetail]) -> str:
    """``loc: msg; loc: msg`` (at most MAX_SUMMARY_CHARS), for a log line or a reason."""
    text = "; ".join(
        f"{format_loc(e['loc'])}: {e['msg']}" if e["loc"] else e["msg"] for e in errors
    )
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 1] + "…"


class ScrubbedValidationError(InputError, ValueError):
    """A validation failure that can be logged, stored or raised out of a handler.

    ``str()`` names each field and what is wrong; ``errors`` is the list of
    ``ErrorDetail``. Raise it ``from None`` so the original error (with the input
    values) is not chained into tracebacks.
    """

    def __init__(self, what: str, errors: list[ErrorDetail]) -> None:
        self.what = what
        self.errors = errors
        super().__init__(f"{what}: {len(errors)} validation error(s): {summary(errors)}")


def scrubbed(exc: ValidationError, what: str) -> ScrubbedValidationError:
    """``raise scrubbed(exc, "webhook item") from None`` in place of re-raising ``exc``."""
    return ScrubbedValidationError(what, scrub_errors(exc))


def is_validation_error(exc: BaseException) -> TypeGuard[ValidationError]:
    """Whether ``exc`` is a pydantic ``ValidationError``, without importing pydantic:
    if nothing imported pydantic_core, no ``ValidationError`` can exist."""
    core = sys.modules.get("pydantic_core")
    return core is not None and isinstance(exc, core.ValidationError)


def scrub_exception(exc: BaseException) -> BaseException:
    """``exc`` itself, or a ``ScrubbedValidationError`` in its place if ``exc`` is or
    chains (``__cause__``/``__context__``) a pydantic ``ValidationError``.

    For a handler's last ``except``: ``raise safe from None`` when it differs, so
    neither the log's traceback nor the error Lambda reports quotes the input.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if is_validation_error(current):
            return ScrubbedValidationError(type(exc).__name__, scrub_errors(current))
        current = current.__cause__ or current.__context__
    return exc


__all__ = [
    "MAX_SUMMARY_CHARS",
    "REDACTED_KEY",
    "REDACTED_VALUE",
    "ErrorDetail",
    "ScrubbedValidationError",
    "format_loc",
    "is_validation_error",
    "redact",
    "safe_loc",
    "safe_msg",
    "scrub_errors",
    "scrub_exception",
    "scrubbed",
    "summary",
]


def mask_phone(value: str | None) -> str:
    """Keep the country-code-ish prefix and the last two digits: enough to correlate."""
    if not value:
        return ""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) <= 4:
        return "*" * len(digits)
    return f"{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"
