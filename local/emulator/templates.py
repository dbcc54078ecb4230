"""Template management rules and send-time template checks (docs/meta/templates.md#management,
docs/meta/templates.md#sending, docs/meta/errors.md#codes)."""

from __future__ import annotations

import re
from typing import Any

from .errors import GraphError
from .models import Template
from .validation.common import array, as_obj, enum, req, req_str, string
from .validation.template import TemplateSend

NAME_RE = re.compile(r"^[a-z0-9_]+$")
NAME_MAX = 512
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
HEADER_MAX = 60
BODY_MAX = 1024
FOOTER_MAX = 60
BUTTON_LABEL_MAX = 25
BUTTON_URL_MAX = 2000
PHONE_MAX = 20  # Braze only -> weak (docs/meta/templates.md#sending)
COPY_CODE_MAX = 15
BUTTON_CAPS = {"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1, "VOICE_CALL": 1}
BUTTONS_MAX = 10
# Subcodes: docs/meta/errors.md#codes lists template-creation subcodes by family without saying
# which of 2388039/2388040 is which; the emulator uses 2388040 for "character limit". The
# per-component format subcodes are 2388047 (header), 2388072 (body), 2388073 (footer).
SUB_DUPLICATE = 2388024
SUB_CHAR_LIMIT = 2388040
SUB_HEADER_FORMAT = 2388047
SUB_BODY_FORMAT = 2388072
SUB_FOOTER_FORMAT = 2388073
SUB_TOO_MANY_VARS = 2388293
SUB_LEADING_TRAILING_VAR = 2388299
SUB_TEMPLATE_LIMIT = 2388019
VAR_RE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
NAMED_VAR_RE = re.compile(r"^[a-z_]+$")


def variables(text: str | None) -> list[str]:
    return VAR_RE.findall(text or "")


def _err(details: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, details, subcode=subcode)


def validate_create(body: dict[str, Any]) -> tuple[str, str, str, str, list[dict[str, Any]]]:
    """Validate a creation request. Returns (name, language, category, format, components)."""
    name = req(body, "name", "")
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > NAME_MAX:
        raise _err("Template name must match ^[a-z0-9_]+$ and be at most 512 characters.")
    language = req_str(body, "language", "")
    category = str(req(body, "category", "")).upper()
    if category not in CATEGORIES:
        raise _err(f"category must be one of {', '.join(CATEGORIES)}.")
    fmt = str(body.get("parameter_format", "positional")).upper()
    if fmt not in ("NAMED", "POSITIONAL"):
        raise _err("parameter_format must be named or positional.")
    comps = array(body, "components", "", required=True, min_items=1)
    seen: dict[str, dict[str, Any]] = {}
    for i, c in enumerate(comps):
        comp = as_obj(c, f"components[{i}]")
        ctype = str(req(comp, "type", f"components[{i}]")).upper()
        if ctype not in ("HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER"):
            raise _err(f"Unknown component type {ctype}.")
        if ctype in seen:
            raise _err(f"Only one {ctype} component is allowed.")
        seen[ctype] = comp
    if "BODY" not in seen:
        raise GraphError(131008, "The parameter components[BODY] is required.")
    if "HEADER" in seen:
        _header(seen["HEADER"], fmt)
    _body(seen["BODY"], fmt)
    if "FOOTER" in seen:
        text = req_str(seen["FOOTER"], "text", "FOOTER")
        if len(text) > FOOTER_MAX:
            raise _err("Footer text is too long (max 60).", SUB_CHAR_LIMIT)
        if variables(text):
            raise _err("Footer cannot contain variables.", SUB_FOOTER_FORMAT)
    if "BUTTONS" in seen:
        _buttons(seen["BUTTONS"])
    if "CAROUSEL" in seen:
        cards = array(seen["CAROUSEL"], "cards", "CAROUSEL", required=True, min_items=1)
        if len(cards) > 10:
            raise _err("A carousel has at most 10 cards.")
        for card in cards:
            for cc in array(as_obj(card, "card"), "components", "card"):
                if str(cc.get("type", "")).upper() == "BODY" and len(cc.get("text", "")) > 160:
                    raise _err("Carousel card body is too long (max 160).", SUB_CHAR_LIMIT)
    return name, language, category, fmt, [dict(c) for c in comps]


def _check_var_names(vs: list[str], fmt: str, subcode: int) -> None:
    for v in vs:
        if fmt == "NAMED" and not NAMED_VAR_RE.match(v):
            raise _err(
                f"Named variable {{{{{v}}}}} must use lowercase letters and underscores.", subcode
            )
        if fmt == "POSITIONAL" and not v.isdigit():
            raise _err(f"Positional variable {{{{{v}}}}} must be a number.", subcode)


def _header(comp: dict[str, Any], fmt: str) -> None:
    hfmt = str(comp.get("format", "TEXT")).upper()
    enum(hfmt, ["TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"], "HEADER['format']")
    if hfmt == "TEXT":
        text = req_str(comp, "text", "HEADER")
        if len(text) > HEADER_MAX:
            raise _err("Header text is too long (max 60).", SUB_CHAR_LIMIT)
        vs = variables(text)
        if len(vs) > 1:
            raise _err("Header text can contain at most 1 variable.", SUB_HEADER_FORMAT)
        _check_var_names(vs, fmt, SUB_HEADER_FORMAT)


def _body(comp: dict[str, Any], fmt: str) -> None:
    text = req_str(comp, "text", "BODY")
    if len(text) > BODY_MAX:
        raise _err("Body text is too long (max 1024).", SUB_CHAR_LIMIT)
    vs = variables(text)
    _check_var_names(vs, fmt, SUB_BODY_FORMAT)
    stripped = text.strip()
    if vs and (stripped.startswith("{{") or stripped.endswith("}}")):
        raise _err(
            "Variables can't be at the start or end of the template.", SUB_LEADING_TRAILING_VAR
        )


def _buttons(comp: dict[str, Any]) -> None:
    buttons = array(comp, "buttons", "BUTTONS", required=True, min_items=1)
    if len(buttons) > BUTTONS_MAX:
        raise _err("A template has at most 10 buttons.")
    counts: dict[str, int] = {}
    kinds: list[str] = []
    for i, b in enumerate(buttons):
        btn = as_obj(b, f"buttons[{i}]")
        btype = str(req(btn, "type", f"buttons[{i}]")).upper()
        kinds.append(btype)
        counts[btype] = counts.get(btype, 0) + 1
        cap = BUTTON_CAPS.get(btype)
        if cap is not None and counts[btype] > cap:
            raise _err(f"At most {cap} {btype} button(s) are allowed.")
        label = string(btn, "text", f"buttons[{i}]")
        if label is not None and len(label) > BUTTON_LABEL_MAX:
            raise _err("Button text is too long (max 25).", SUB_CHAR_LIMIT)
        if btype == "URL":
            u = req_str(btn, "url", f"buttons[{i}]")
            if len(u) > BUTTON_URL_MAX:
                raise _err("Button URL is too long (max 2000).", SUB_CHAR_LIMIT)
            vs = variables(u)
            if len(vs) > 1 or (vs and not u.rstrip().endswith("}}")):
                raise _err("A URL button has at most 1 variable, only at the end of the URL.")
        if btype == "PHONE_NUMBER":
            phone = req_str(btn, "phone_number", f"buttons[{i}]")
            if len(phone) > PHONE_MAX:
                raise _err("Phone number is too long (max 20).", SUB_CHAR_LIMIT)
        if btype == "COPY_CODE":
            ex = btn.get("example")
            if isinstance(ex, str) and len(ex) > COPY_CODE_MAX:
                raise _err("Copy code example is too long (max 15).", SUB_CHAR_LIMIT)
    # Quick replies must be grouped together, apart from other buttons
    # (docs/meta/templates.md#sending).
    qr = [i for i, k in enumerate(kinds) if k == "QUICK_REPLY"]
    if qr and qr[-1] - qr[0] + 1 != len(qr):
        raise _err("Quick reply buttons must be grouped together.")


# ---------------------------------------------------------------------------------------
# send-time checks
# ---------------------------------------------------------------------------------------
_SUBTYPE_FOR = {
    "QUICK_REPLY": "quick_reply",
    "URL": "url",
    "OTP": "url",  # an OTP button is stored as URL (docs/meta/templates.md#sending)
    "COPY_CODE": "copy_code",
    "FLOW": "flow",
    "CATALOG": "catalog",
    "MPM": "mpm",
    "VOICE_CALL": "voice_call",
    "PHONE_NUMBER": "phone_number",
}


def _version_number(api_version: str) -> float:
    try:
        return float(api_version.lstrip("v"))
    except ValueError:
        return 23.0


def param_error(api_version: str, code: int, details: str) -> GraphError:
    """v23.0+ reports send-time parameter problems as 132018 (docs/meta/templates.md#management);
    older versions use the specific code (132000 count, 132012 format)."""
    if _version_number(api_version) >= 23:
        return GraphError(132018, f"({code}) {details}")
    return GraphError(code, details)


def check_send(tpl: Template, send: TemplateSend, api_version: str) -> None:
    """Status and parameter checks for a template that exists in the requested language."""
    if tpl.status == "PAUSED":
        raise GraphError(132015, f"Template {tpl.name} is paused.")
    if tpl.status == "DISABLED":
        raise GraphError(132016, f"Template {tpl.name} is disabled.")
    if tpl.status != "APPROVED":
        raise GraphError(
            132001,
            f"template name ({tpl.name}) does not exist in {tpl.language} or is not approved.",
        )
    comps = {str(c.get("type", "")).upper(): c for c in tpl.components}
    sent: dict[str, list[dict[str, Any]]] = {"header": [], "body": []}
    buttons_sent: dict[int, tuple[str, list[dict[str, Any]]]] = {}
    for sc in send.components:
        if sc.type in ("header", "body"):
            sent[sc.type].extend(sc.parameters)
        elif sc.type == "button":
            assert sc.index is not None and sc.sub_type is not None
            buttons_sent[sc.index] = (sc.sub_type, sc.parameters)

    def err(code: int, details: str) -> GraphError:
        return param_error(api_version, code, details)

    # header
    header = comps.get("HEADER")
    hfmt = str(header.get("format", "TEXT")).upper() if header else None
    if hfmt is None:
        if sent["header"]:
            raise err(132000, "The template has no header but header parameters were sent.")
    elif hfmt == "TEXT":
        _check_text_params("header", header, sent["header"], tpl, err=err, max_len=HEADER_MAX)
    else:
        want = hfmt.lower()
        if len(sent["header"]) != 1:
            raise err(
                132000, f"header: expected 1 {want} parameter, received {len(sent['header'])}."
            )
        got = sent["header"][0]["type"]
        if got != want:
            raise err(132012, f"header: expected a {want} parameter, received {got}.")
    # body: <=1024 per parameter if the template has other components, else <=32768
    body_max = 1024 if len(comps) > 1 else 32768
    _check_text_params("body", comps.get("BODY"), sent["body"], tpl, err=err, max_len=body_max)
    tbuttons: list[dict[str, Any]] = []
    if "BUTTONS" in comps:
        tbuttons = list(comps["BUTTONS"].get("buttons", []))
    _check_buttons(tbuttons, buttons_sent, err)


def _check_buttons(
    tbuttons: list[dict[str, Any]],
    buttons_sent: dict[int, tuple[str, list[dict[str, Any]]]],
    err: Any,
) -> None:
    for idx, (sub_type, _params) in buttons_sent.items():
        if idx >= len(tbuttons):
            raise err(132000, f"button at index {idx} does not exist in the template.")
        btype = str(tbuttons[idx].get("type", "")).upper()
        if _SUBTYPE_FOR.get(btype) != sub_type:
            raise err(132012, f"button at index {idx} is {btype}, sub_type {sub_type} sent.")
    for idx, b in enumerate(tbuttons):
        btype = str(b.get("type", "")).upper()
        needs = (btype == "URL" and bool(variables(str(b.get("url", ""))))) or btype in (
            "OTP",
            "COPY_CODE",
        )
        if needs and idx not in buttons_sent:
            raise err(132000, f"button at index {idx} ({btype}) needs a parameter.")
        if idx in buttons_sent:
            params = buttons_sent[idx][1]
            if needs and len(params) != 1:
                raise err(132000, f"button at index {idx}: expected 1 parameter.")
            expected_type = {
                "URL": "text",
                "OTP": "text",
                "COPY_CODE": "coupon_code",
                "QUICK_REPLY": "payload",
            }.get(btype)
            for p in params:
                if expected_type and p["type"] != expected_type:
                    raise err(
                        132012,
                        f"button at index {idx}: expected a {expected_type} "
                        f"parameter, received {p['type']}.",
                    )


def _check_text_params(
    where: str,
    comp: dict[str, Any] | None,
    params: list[dict[str, Any]],
    tpl: Template,
    *,
    err: Any,
    max_len: int,
) -> None:
    vs = variables(str(comp.get("text", ""))) if comp else []
    expected = list(dict.fromkeys(vs)) if tpl.parameter_format == "NAMED" else vs
    if len(params) != len(expected):
        raise err(
            132000,
            f"{where}: number of parameters ({len(params)}) does not match the "
            f"expected number of params ({len(expected)}).",
        )
    allowed = ("text",) if where == "header" else ("text", "currency", "date_time")
    for p in params:
        if p["type"] not in allowed:
            raise err(132012, f"{where}: parameter type {p['type']} is not allowed.")
        if p["type"] == "text" and len(p["text"]) > max_len:
            raise GraphError(
                100, f"Param {where} text parameter must be at most {max_len} characters long."
            )
    if tpl.parameter_format == "NAMED":
        names = [p.get("parameter_name") for p in params]
        if any(n is None for n in names):
            raise err(132012, f"{where}: named templates need parameter_name on every parameter.")
        if sorted(str(n) for n in names) != sorted(expected):
            raise err(132012, f"{where}: parameter names {names} do not match {expected}.")
    elif any("parameter_name" in p for p in params):
        raise err(132012, f"{where}: positional templates take no parameter_name.")
