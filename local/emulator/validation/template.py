"""Structure of a ``type: template`` send (docs/meta/templates.md#sending).

Only the shape is checked here; whether the template exists, is approved and receives the
right parameters needs state and lives in ``templates.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import bad_param, invalid
from .common import array, as_obj, enum, no_unknown, number, req, req_str, string
from .media import MediaRef, validate_media

COMPONENT_TYPES = ("header", "body", "button", "carousel", "limited_time_offer")
BUTTON_SUB_TYPES = ("quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call")
PARAM_TYPES = (
    "text",
    "currency",
    "date_time",
    "image",
    "video",
    "document",
    "location",
    "payload",
    "coupon_code",
    "action",
    "limited_time_offer",
)


@dataclass
class SendComponent:
    type: str
    parameters: list[dict[str, Any]]
    sub_type: str | None = None
    index: int | None = None


@dataclass
class TemplateSend:
    name: str
    language: str
    components: list[SendComponent] = field(default_factory=list)
    media: list[MediaRef] = field(default_factory=list)


def validate_template_send(obj: Any) -> TemplateSend:
    t = as_obj(obj, "template")
    no_unknown(t, {"name", "language", "components", "namespace"}, "template")
    name = req_str(t, "name", "template", 512)
    lang = as_obj(req(t, "language", "template"), "template['language']")
    no_unknown(lang, {"code", "policy"}, "template['language']")
    code = req_str(lang, "code", "template['language']")
    # OAS marks policy required but Meta's examples omit it -> optional
    # (docs/meta/templates.md#sending).
    if "policy" in lang:
        enum(lang["policy"], ["deterministic"], "template['language']['policy']")
    out = TemplateSend(name=name, language=code)
    for i, c in enumerate(array(t, "components", "template")):
        p = f"template['components'][{i}]"
        comp = as_obj(c, p)
        ctype = enum(req(comp, "type", p), COMPONENT_TYPES, f"{p}['type']")
        no_unknown(comp, {"type", "parameters", "sub_type", "index", "cards"}, p)
        sub_type = None
        index = None
        if ctype == "button":
            sub_type = enum(
                str(req(comp, "sub_type", p)).lower(), BUTTON_SUB_TYPES, f"{p}['sub_type']"
            )
            index = _index(req(comp, "index", p), f"{p}['index']")
        params = array(comp, "parameters", p)
        for j, prm in enumerate(params):
            out.media.extend(_param(prm, f"{p}['parameters'][{j}]"))
        out.components.append(SendComponent(ctype, params, sub_type, index))
    return out


def _index(value: Any, path: str) -> int:
    """``index`` 0-9, as a string or a number (docs/meta/templates.md#sending). The OAS regex is
    ignored (docs/meta/conflicts.md)."""
    if isinstance(value, bool):
        raise bad_param(path, "must be an integer.")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int):
        raise bad_param(path, "must be an integer.")
    if not 0 <= value <= 9:
        raise invalid(path, "must be between 0 and 9.")
    return value


def _param(obj: Any, path: str) -> list[MediaRef]:
    prm = as_obj(obj, path)
    ptype = enum(req(prm, "type", path), PARAM_TYPES, f"{path}['type']")
    no_unknown(prm, {"type", ptype, "parameter_name"}, path)
    string(prm, "parameter_name", path)
    value = req(prm, ptype, path)
    if ptype in ("text", "payload", "coupon_code"):
        if not isinstance(value, str):
            raise bad_param(f"{path}['{ptype}']", "must be a string.")
        if value == "":
            raise invalid(f"{path}['{ptype}']", "must not be empty.")
    elif ptype == "currency":
        cur = as_obj(value, f"{path}['currency']")
        req_str(cur, "fallback_value", f"{path}['currency']")
        req_str(cur, "code", f"{path}['currency']")
        number(req(cur, "amount_1000", f"{path}['currency']"), f"{path}['currency']['amount_1000']")
    elif ptype == "date_time":
        req_str(as_obj(value, f"{path}['date_time']"), "fallback_value", f"{path}['date_time']")
    elif ptype in ("image", "video", "document"):
        ref = validate_media(ptype, value, f"{path}['{ptype}']")
        return [ref]
    elif ptype == "location":
        loc = as_obj(value, f"{path}['location']")
        number(req(loc, "latitude", f"{path}['location']"), f"{path}['location']['latitude']")
        number(req(loc, "longitude", f"{path}['location']"), f"{path}['location']['longitude']")
    else:
        as_obj(value, f"{path}['{ptype}']")
    return []
