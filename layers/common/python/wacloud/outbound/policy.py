"""Rules a message must pass before the sender spends a Graph call on it (pure functions).

Each function returns None when the message may go, or a refusal: a small dict with a
human `reason`, the `rule` that refused and `stage: "policy"`, which the sender stores
on the `rejected` record. They take plain data (the contact item, the synced template
item) so they are trivially unit-tested and say nothing about where data comes from.

Template checks mirror what Meta rejects at send time (docs/meta/templates.md#sending,
docs/meta/errors.md#codes: 132000 count, 132012 format, 132001 unknown/not approved, 132015 paused,
132016 disabled) against the templates `wacloud.templates.sync` mirrored for the WABA. They only run
when the mirror knows the WABA: an unsynced WABA is left to Meta rather than rejected blindly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from wacloud.infra.clock import now
from wacloud.models.outbound.template import HeaderComponent, TemplateObject, _Button

Refusal = dict[str, Any]

_VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
# Button sub_type a send must use for each stored button type (docs/meta/templates.md#sending: OTP
# is stored as URL).
_SUB_TYPE_FOR = {
    "QUICK_REPLY": "quick_reply",
    "URL": "url",
    "OTP": "url",
    "COPY_CODE": "copy_code",
    "FLOW": "flow",
    "CATALOG": "catalog",
    "MPM": "mpm",
}
_META_CODE_FOR_STATUS = {"PAUSED": 132015, "DISABLED": 132016}


def refusal(rule: str, reason: str) -> Refusal:
    return {"reason": reason, "stage": "policy", "rule": rule}


def blocked_refusal(contact: dict[str, Any] | None, at: float | None = None) -> Refusal | None:
    """A blocked contact, unless its temporary block (`blocked_until`) is over: the
    housekeeping that lifts it runs once a minute, and the fan-out already honours
    the end time, so the sender must not refuse in between."""
    if not contact or not contact.get("blocked"):
        return None
    until = contact.get("blocked_until")
    if until is not None and float(until) <= (now() if at is None else at):
        return None
    return refusal("blocked", "recipient is blocked (Meta would fail this with 130403)")


def window_refusal(is_template: bool, window_open: bool) -> Refusal | None:
    """Free-form messages need an open 24-hour customer-service window
    (docs/meta/messages.md#customer-service-window)."""
    if is_template or window_open:
        return None
    return refusal(
        "window",
        "template required: the 24-hour customer service window is closed "
        "(Meta would fail this with 131047)",
    )


def is_marketing(template_category: str | None, tags: Iterable[str] | None) -> bool:
    """Marketing by the template's synced category, or by the submitter's own tag."""
    return (template_category or "").upper() == "MARKETING" or "marketing" in (tags or ())


def opt_out_refusal(
    contact: dict[str, Any] | None, template_category: str | None, tags: Iterable[str] | None
) -> Refusal | None:
    if contact and contact.get("opted_out_marketing") and is_marketing(template_category, tags):
        return refusal(
            "opt_out",
            "recipient opted out of marketing messages (Meta would fail this with 131050)",
        )
    return None


def variables(text: str | None) -> list[str]:
    return _VARIABLE.findall(text or "")


def template_refusal(
    template: dict[str, Any] | None, mirror_known: bool, send: TemplateObject
) -> Refusal | None:
    """Check a template send against the synced template item (`{waba}#TPL`)."""
    label = f"template '{send.name}' ({send.language.code})"
    if template is None or template.get("deleted"):
        if not mirror_known:
            return None
        return refusal(
            "template",
            f"{label} is not among this WABA's synced templates "
            "(unknown name or language; Meta would fail it with 132001)",
        )
    status = str(template.get("status") or "").upper()
    if status != "APPROVED":
        code = _META_CODE_FOR_STATUS.get(status, 132001)
        return refusal(
            "template",
            f"{label} is {status or 'of unknown status'}; only APPROVED templates can be "
            f"sent (Meta would fail it with {code})",
        )
    problem = parameter_problem(template, send)
    if problem:
        return refusal("template_parameters", f"{label}: {problem}")
    return None


def _components(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(c.get("type", "")).upper(): c for c in template.get("components") or []}


def _named(template: dict[str, Any], names: list[str]) -> bool:
    fmt = str(template.get("parameter_format") or "").upper()
    if fmt:
        return fmt == "NAMED"
    return any(not n.isdigit() for n in names)


def parameter_problem(template: dict[str, Any], send: TemplateObject) -> str | None:
    """What is wrong with the send's parameters for this template, or None (pure)."""
    comps = _components(template)
    header_params: list[Any] = []
    body_params: list[Any] = []
    buttons: dict[int, _Button] = {}
    for c in send.components or []:
        if isinstance(c, HeaderComponent):
            header_params = list(c.parameters)
        elif c.type == "body":
            body_params = list(getattr(c, "parameters", []))
        elif isinstance(c, _Button):
            buttons[int(c.index)] = c
    return (
        _header_problem(template, comps.get("HEADER"), header_params)
        or _text_problem(template, "body", comps.get("BODY"), body_params)
        or _button_problem(comps.get("BUTTONS"), buttons)
    )


def _header_problem(
    template: dict[str, Any], header: dict[str, Any] | None, params: list[Any]
) -> str | None:
    if header is None:
        return "header parameters sent but the template has no header" if params else None
    fmt = str(header.get("format") or "TEXT").upper()
    if fmt == "TEXT":
        return _text_problem(template, "header", header, params)
    want = fmt.lower()
    if len(params) != 1:
        return f"the template's {want} header needs 1 {want} parameter, got {len(params)}"
    if params[0].type != want:
        return f"the template's header is {want}, got a {params[0].type} parameter"
    return None


def _text_problem(
    template: dict[str, Any], where: str, comp: dict[str, Any] | None, params: list[Any]
) -> str | None:
    found = variables(str((comp or {}).get("text", "")))
    named = _named(template, found)
    expected = list(dict.fromkeys(found)) if named else found
    if len(params) != len(expected):
        return (
            f"{where} has {len(expected)} parameter(s), {len(params)} sent "
            "(Meta would fail it with 132000)"
        )
    names = [getattr(p, "parameter_name", None) for p in params]
    if named:
        if sorted(str(n) for n in names) != sorted(expected):
            return (
                f"{where} parameter names {sorted(str(n) for n in names)} do not match the "
                f"template's {sorted(expected)} (Meta would fail it with 132012)"
            )
    elif any(n is not None for n in names):
        return f"{where}: a positional template takes no parameter_name"
    return None


def _button_problem(buttons_comp: dict[str, Any] | None, sent: dict[int, _Button]) -> str | None:
    stored = list((buttons_comp or {}).get("buttons") or [])
    for index, button in sorted(sent.items()):
        if index >= len(stored):
            return f"button index {index} does not exist (the template has {len(stored)})"
        kind = str(stored[index].get("type", "")).upper()
        sub_type = getattr(button, "sub_type", None)
        if _SUB_TYPE_FOR.get(kind, kind.lower()) != sub_type:
            return f"button {index} is {kind}; sub_type '{sub_type}' was sent"
    for index, b in enumerate(stored):
        kind = str(b.get("type", "")).upper()
        needs = kind in ("OTP", "COPY_CODE") or (kind == "URL" and variables(str(b.get("url"))))
        if needs and index not in sent:
            return f"button {index} ({kind}) needs a parameter (Meta would fail it with 132000)"
    return None
