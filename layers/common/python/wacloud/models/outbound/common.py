"""Building blocks shared by the outbound message models.

Meta answers an over-long field with a bare ``(#100) Invalid parameter`` and the
user learns nothing. We check the same limits before the message reaches the
queue, and every rejection names the field, the limit and where the limit comes
from, so the reason stored on a rejected submission is enough to fix it.

Limits are attached as ``Annotated`` metadata (``Chars``, ``Items``) rather than
``Field(max_length=...)`` so the error text is ours while the generated JSON
schema still carries ``maxLength``/``maxItems`` for client-side tooling.
"""

import inspect
import types
from collections.abc import Sized
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from wacloud.infra.privacy import MAX_SUMMARY_CHARS, safe_loc, safe_msg

META = "Meta limit"
"""Default provenance of a limit: Meta's Cloud API reference, as docs/outbound.md states it."""


class StrictModel(BaseModel):
    """Base of the strict family (every outbound wire model).

    ``extra="forbid"``: Meta rejects unknown or misspelled parameters with error 100,
    so an unknown key is caught here rather than after a paid-for round trip.
    ``defer_build``: a model's validator is built on its first use, not at import, so
    a cold Sender pays only for the message types it actually sends (Lambda cold
    start, issue target 300 ms; building all of them took ~150 ms).
    Each subclass is registered under its class name so ``describe_validation_error``
    can map a ``ValidationError.title`` back to the model and read its locations.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    _registry: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        StrictModel._registry[cls.__name__] = cls
        # A model published under another title (ContactCard as Contact) fails
        # validation under that title: find it by either name.
        title = cls.model_config.get("title")
        if title:
            StrictModel._registry.setdefault(title, cls)


def register_root(title: str, annotation: Any) -> None:
    """Make a non-model root (e.g. the ``OutboundMessage`` union) known to the error formatter."""
    StrictModel._registry[title] = annotation


def _limit_error(what: str, got: str) -> PydanticCustomError:
    return PydanticCustomError("wacloud_limit", "{what}, got {got}", {"what": what, "got": got})


@dataclass(frozen=True, slots=True)
class Chars:
    """Character-count limit on a string (Python code points, as Meta counts characters)."""

    max: int | None = None
    min: int = 0
    why: str = META

    def check(self, value: str) -> str:
        if self.min and len(value) < self.min:
            if self.min == 1:
                raise PydanticCustomError("wacloud_empty", "must not be empty")
            raise _limit_error(f"at least {self.min} characters ({self.why})", str(len(value)))
        if self.max is not None and len(value) > self.max:
            raise _limit_error(f"at most {self.max} characters ({self.why})", str(len(value)))
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        if self.max is not None:
            out["maxLength"] = self.max
        if self.min:
            out["minLength"] = self.min
        return out


@dataclass(frozen=True, slots=True)
class Items:
    """Item-count limit on a list; ``noun`` makes the message read like Meta's docs."""

    max: int | None = None
    min: int = 0
    noun: str = "items"
    why: str = META

    def check(self, value: Sized) -> Any:
        n = len(value)
        if n < self.min:
            raise _limit_error(f"at least {self.min} {self.noun} ({self.why})", str(n))
        if self.max is not None and n > self.max:
            raise _limit_error(f"at most {self.max} {self.noun} ({self.why})", str(n))
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        if self.max is not None:
            out["maxItems"] = self.max
        if self.min:
            out["minItems"] = self.min
        return out


def _check_http_url(value: str) -> str:
    # Deliberately not pydantic's HttpUrl: it normalises (adds a trailing slash,
    # re-encodes), and Meta must receive the link byte-for-byte as the user wrote it.
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError(
            "wacloud_url",
            "must be an absolute http:// or https:// URL",
        )
    return value


NonEmptyStr = Annotated[str, Chars(min=1)]
HttpUrlStr = Annotated[
    str,
    Chars(min=1),
    AfterValidator(_check_http_url),
    Field(json_schema_extra={"format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}),
]


def unique_values(values: list[str], what: str, at: str = "") -> None:
    """Raise when a list of identifiers repeats one (Meta rejects duplicates).

    ``at`` is the sub-path the error belongs to when raised from a model-level check.
    """
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise PydanticCustomError(
                "wacloud_unique",
                "{what} must be unique (Meta rule), a value repeats",
                {"what": what, "at": at},
            )
        seen.add(v)


# --------------------------------------------------------------------------- errors

_UNION_TYPES: tuple[Any, ...] = (Union, types.UnionType)


def _unwrap(tp: Any) -> tuple[Any, str | None]:
    """Strip ``Annotated``/``Optional`` wrappers; return the core type and its discriminator."""
    disc: str | None = None
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            base, *meta = get_args(tp)
            for m in meta:
                if isinstance(m, FieldInfo) and isinstance(m.discriminator, str):
                    disc = m.discriminator
            tp = base
            continue
        if origin in _UNION_TYPES:
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp, disc


def _tag_values(model: Any, disc: str) -> tuple[Any, ...]:
    if not (inspect.isclass(model) and issubclass(model, BaseModel)):
        return ()
    field = model.model_fields.get(disc)
    if field is None:
        return ()
    ann, _ = _unwrap(field.annotation)
    return get_args(ann) if get_origin(ann) is Literal else ()


def _variant(union: Any, disc: str, tag: str) -> Any | None:
    for member in get_args(union):
        core, _ = _unwrap(member)
        if get_origin(core) in _UNION_TYPES:  # nested discriminated union shares the tag
            if any(tag in _tag_values(m, disc) for m in get_args(core)):
                return member
        elif tag in _tag_values(core, disc):
            return member
    return None


def readable_loc(root: Any, loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as ``interactive.action.buttons[3].reply.title``.

    Pydantic inserts the discriminator value of a tagged union into the location
    (``('interactive', 'button', 'action', ...)``); that segment is noise to a user
    and ambiguous (``text.text.body``), so we walk the model types to drop it.
    """
    out = ""
    tp, disc = _unwrap(root)
    for seg in loc:
        if disc is not None and isinstance(seg, str) and get_origin(tp) in _UNION_TYPES:
            member = _variant(tp, disc, seg)
            if member is not None:
                tp, disc = _unwrap(member)
                continue
        if isinstance(seg, int):
            out += f"[{seg}]"
            args = get_args(tp)
            tp, disc = _unwrap(args[0]) if get_origin(tp) is list and args else (Any, None)
            continue
        out += f".{seg}" if out else seg
        field = None
        if inspect.isclass(tp) and issubclass(tp, BaseModel):
            field = next((f for name, f in tp.model_fields.items() if seg in (name, f.alias)), None)
        if field is None:
            tp, disc = Any, None
            continue
        tp, inner = _unwrap(field.annotation)
        disc = field.discriminator if isinstance(field.discriminator, str) else inner
    return out


def _plain(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not part of this object; Meta rejects unknown parameters)"
    if kind == "union_tag_invalid":
        # The tag is the user's input: name only what is expected.
        return f"unsupported value; expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "required field is missing (it selects which kind of object this is)"
    if kind == "timezone_aware":
        return "must include a timezone (e.g. 2026-11-22T10:00:00Z); naive times are ambiguous"
    return safe_msg(err).removeprefix("Value error, ")


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, ``<field path>: <reason>``, joined with ``; ``.

    This is the text recorded as the ``rejected`` reason, so it must make sense to
    someone who has never seen pydantic. It is also logged, so it carries no input
    value (``wacloud.infra.privacy``): keys that are not identifiers become ``<key>`` and
    any input quoted in a message becomes ``<value>``.
    """
    root = StrictModel._registry.get(exc.title)
    lines: list[str] = []
    for err in exc.errors():
        loc = tuple(safe_loc(tuple(err["loc"])))
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # The location is the union itself; name the field that picks the variant.
            loc = (*loc, str((err.get("ctx") or {}).get("discriminator", "type")).strip("'"))
        path = readable_loc(root, loc) if root is not None else ".".join(map(str, loc))
        at = (err.get("ctx") or {}).get("at")
        if isinstance(at, str) and at:  # a model-level check pointing below its own location
            path = f"{path}.{at}" if path else at
        reason = _plain(err)
        lines.append(f"{path}: {reason}" if path else reason)
    text = "; ".join(lines)
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 1] + "…"
