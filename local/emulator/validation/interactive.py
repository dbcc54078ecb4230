"""Interactive messages (docs/meta/limits.md#interactive, docs/meta/limits.md#flow-messages).

Where docs/meta/conflicts.md marks a CONFLICT the stricter figure is enforced, so a payload this
emulator accepts is also accepted by Meta: list body 1024 (OAS) not 4096, location-request
body 1024 not 4096, flow_cta 20 (PYWA) not 30.
"""

from __future__ import annotations

from typing import Any

from ..errors import bad_param, invalid
from .common import array, as_obj, enum, no_unknown, req, req_str, string, url
from .media import MediaRef, validate_media

INTERACTIVE_TYPES = (
    "button",
    "list",
    "cta_url",
    "location_request_message",
    "call_permission_request",
    "product",
    "product_list",
    "catalog_message",
    "flow",
    "carousel",
)
HEADER_TEXT_MAX = 60
FOOTER_MAX = 60
BODY_MAX = 1024
LIST_BODY_MAX = 1024  # CONFLICT: 4096 (Meta 2026 list page) vs 1024 (OAS) -> stricter
LOCATION_REQUEST_BODY_MAX = 1024  # CONFLICT: 1024 (Meta Nov 2025) vs 4096 (3P) -> stricter
FLOW_CTA_MAX = 20  # CONFLICT: 30 (Meta advice, OAS) vs 20 (PYWA) -> stricter
# Carousel: docs/meta has no interactive-carousel figures; 10 cards is the template
# carousel cap (docs/meta/templates.md#sending) reused here. NOT CONFIRMED for interactive
# carousels.
CAROUSEL_MAX_CARDS = 10


def _header(it: dict[str, Any], *, allowed: set[str], links_only: bool = False) -> list[MediaRef]:
    if "header" not in it:
        return []
    h = as_obj(it["header"], "interactive['header']")
    htype = enum(
        req(h, "type", "interactive['header']"), sorted(allowed), "interactive['header']['type']"
    )
    no_unknown(h, {"type", htype}, "interactive['header']")
    if htype == "text":
        req_str(h, "text", "interactive['header']", HEADER_TEXT_MAX)
        return []
    ref = validate_media(
        htype, req(h, htype, "interactive['header']"), f"interactive['header']['{htype}']"
    )
    if links_only and ref.link is None:
        raise invalid(f"interactive['header']['{htype}']", "must use 'link' for cta_url.")
    return [ref]


def _text_part(it: dict[str, Any], key: str, max_len: int, *, required: bool) -> None:
    if key not in it:
        if required:
            req(it, key, "interactive")
        return
    part = as_obj(it[key], f"interactive['{key}']")
    no_unknown(part, {"text"}, f"interactive['{key}']")
    req_str(part, "text", f"interactive['{key}']", max_len)


def _forbid(it: dict[str, Any], keys: tuple[str, ...], itype: str) -> None:
    for k in keys:
        if k in it:
            raise bad_param(f"interactive['{k}']", f"is not supported for type {itype}.")


def validate_interactive(obj: Any) -> list[MediaRef]:
    it = as_obj(obj, "interactive")
    itype = enum(req(it, "type", "interactive"), INTERACTIVE_TYPES, "interactive['type']")
    no_unknown(it, {"type", "header", "body", "footer", "action"}, "interactive")
    action = as_obj(req(it, "action", "interactive"), "interactive['action']")
    return _BY_TYPE[itype](it, action)


_MEDIA_HEADER = {"text", "image", "video", "document"}


def _v_button(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    refs = _header(it, allowed=_MEDIA_HEADER)
    _text_part(it, "body", BODY_MAX, required=True)
    _text_part(it, "footer", FOOTER_MAX, required=False)
    _buttons(action)
    return refs


def _v_list(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    refs = _header(it, allowed={"text"})
    _text_part(it, "body", LIST_BODY_MAX, required=True)
    _text_part(it, "footer", FOOTER_MAX, required=False)
    _list(action)
    return refs


def _v_cta_url(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    refs = _header(it, allowed=_MEDIA_HEADER, links_only=True)
    _text_part(it, "body", BODY_MAX, required=True)
    _text_part(it, "footer", FOOTER_MAX, required=False)
    _named_action(action, "cta_url")
    pp = "interactive['action']['parameters']"
    params = as_obj(req(action, "parameters", "interactive['action']"), pp)
    req_str(params, "display_text", pp, 20)
    url(req(params, "url", pp), f"{pp}['url']")
    return refs


def _v_location_request(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    _forbid(it, ("header", "footer"), "location_request_message")
    _text_part(it, "body", LOCATION_REQUEST_BODY_MAX, required=True)
    _named_action(action, "send_location")
    return []


def _v_call_permission(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    # header and footer not supported in free-form (M-2025 call permissions,
    # docs/meta/limits.md#interactive)
    _forbid(it, ("header", "footer"), "call_permission_request")
    _text_part(it, "body", BODY_MAX, required=False)
    _named_action(action, "call_permission_request")
    return []


def _v_product(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    _forbid(it, ("header",), "product")  # no header allowed (OAS)
    _text_part(it, "body", BODY_MAX, required=False)
    _text_part(it, "footer", FOOTER_MAX, required=False)
    req_str(action, "catalog_id", "interactive['action']")
    req_str(action, "product_retailer_id", "interactive['action']")
    return []


def _v_product_list(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    if "header" not in it:
        req(it, "header", "interactive")  # header required (text)
    refs = _header(it, allowed={"text"})
    _text_part(it, "body", BODY_MAX, required=False)
    _text_part(it, "footer", FOOTER_MAX, required=False)
    _product_list(action)
    return refs


def _v_catalog(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    _text_part(it, "body", BODY_MAX, required=True)
    _text_part(it, "footer", FOOTER_MAX, required=False)
    _named_action(action, "catalog_message")
    pp = "interactive['action']['parameters']"
    params = as_obj(req(action, "parameters", "interactive['action']"), pp)
    req_str(params, "thumbnail_product_retailer_id", pp)
    return []


def _v_flow(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    refs = _header(it, allowed=_MEDIA_HEADER)
    _text_part(it, "body", BODY_MAX, required=False)
    _text_part(it, "footer", FOOTER_MAX, required=False)
    _flow(action)
    return refs


def _v_carousel(it: dict[str, Any], action: dict[str, Any]) -> list[MediaRef]:
    _text_part(it, "body", BODY_MAX, required=True)
    return _carousel(action)


_BY_TYPE = {
    "button": _v_button,
    "list": _v_list,
    "cta_url": _v_cta_url,
    "location_request_message": _v_location_request,
    "call_permission_request": _v_call_permission,
    "product": _v_product,
    "product_list": _v_product_list,
    "catalog_message": _v_catalog,
    "flow": _v_flow,
    "carousel": _v_carousel,
}


def _named_action(action: dict[str, Any], name: str) -> None:
    got = req(action, "name", "interactive['action']")
    if got != name:
        raise invalid("interactive['action']['name']", f'must be "{name}".')


def _buttons(action: dict[str, Any]) -> None:
    """Reply buttons: 1-3, title <=20 and unique, id <=256 (M-2025 reply buttons)."""
    buttons = array(
        action, "buttons", "interactive['action']", required=True, min_items=1, max_items=3
    )
    titles: set[str] = set()
    ids: set[str] = set()
    for i, b in enumerate(buttons):
        p = f"interactive['action']['buttons'][{i}]"
        btn = as_obj(b, p)
        enum(req(btn, "type", p), ["reply"], f"{p}['type']")
        reply = as_obj(req(btn, "reply", p), f"{p}['reply']")
        bid = req_str(reply, "id", f"{p}['reply']", 256)
        title = req_str(reply, "title", f"{p}['reply']", 20)
        if bid != bid.strip():
            raise invalid(f"{p}['reply']['id']", "must not have leading or trailing spaces.")
        if title in titles:
            raise invalid(f"{p}['reply']['title']", "must be unique.")
        if bid in ids:
            raise invalid(f"{p}['reply']['id']", "must be unique.")
        titles.add(title)
        ids.add(bid)


def _list(action: dict[str, Any]) -> None:
    """List: button <=20, 1-10 sections, <=10 rows in total (docs/meta/limits.md#interactive)."""
    req_str(action, "button", "interactive['action']", 20)
    sections = array(
        action, "sections", "interactive['action']", required=True, min_items=1, max_items=10
    )
    total_rows = 0
    for i, s in enumerate(sections):
        p = f"interactive['action']['sections'][{i}]"
        sec = as_obj(s, p)
        # 2026 page: title required; OAS: required only with >1 section -> stricter.
        req_str(sec, "title", p, 24)
        rows = array(sec, "rows", p, required=True, min_items=1)
        total_rows += len(rows)
        if total_rows > 10:
            raise bad_param(
                "interactive['action']['sections']", "must have at most 10 rows in total."
            )
        for j, r in enumerate(rows):
            rp = f"{p}['rows'][{j}]"
            row = as_obj(r, rp)
            req_str(row, "id", rp, 200)
            req_str(row, "title", rp, 24)
            string(row, "description", rp, max_len=72)


def _product_list(action: dict[str, Any]) -> None:
    """Sections <=10, 30 product items in total (the stricter reading,
    docs/meta/limits.md#interactive)."""
    req_str(action, "catalog_id", "interactive['action']")
    sections = array(
        action, "sections", "interactive['action']", required=True, min_items=1, max_items=10
    )
    total = 0
    for i, s in enumerate(sections):
        p = f"interactive['action']['sections'][{i}]"
        sec = as_obj(s, p)
        req_str(sec, "title", p, 24)
        items = array(sec, "product_items", p, required=True, min_items=1)
        total += len(items)
        if total > 30:
            raise bad_param(
                "interactive['action']['sections']", "must have at most 30 product items in total."
            )
        for j, item in enumerate(items):
            req_str(
                as_obj(item, f"{p}['product_items'][{j}]"),
                "product_retailer_id",
                f"{p}['product_items'][{j}]",
            )


def _flow(action: dict[str, Any]) -> None:
    """Flow messages (docs/meta/limits.md#flow-messages)."""
    _named_action(action, "flow")
    pp = "interactive['action']['parameters']"
    params = as_obj(req(action, "parameters", "interactive['action']"), pp)
    version = req(params, "flow_message_version", pp)
    if version != "3":
        raise invalid(f"{pp}['flow_message_version']", 'must be "3".')
    has_id = params.get("flow_id") is not None
    has_name = params.get("flow_name") is not None
    if has_id == has_name:
        raise bad_param(pp, "must contain exactly one of 'flow_id' or 'flow_name'.")
    req_str(params, "flow_cta", pp, FLOW_CTA_MAX)
    if "mode" in params:
        enum(params["mode"], ["draft", "published"], f"{pp}['mode']")
    string(params, "flow_token", pp)
    flow_action = "navigate"
    if "flow_action" in params:
        flow_action = enum(
            params["flow_action"], ["navigate", "data_exchange"], f"{pp}['flow_action']"
        )
    if "flow_action_payload" in params:
        fap = as_obj(params["flow_action_payload"], f"{pp}['flow_action_payload']")
        if flow_action == "navigate":
            req_str(fap, "screen", f"{pp}['flow_action_payload']")
        if "data" in fap:
            data = fap["data"]
            if not isinstance(data, dict) or not data:
                raise invalid(
                    f"{pp}['flow_action_payload']['data']", "must be a non-empty object when sent."
                )


def _carousel(action: dict[str, Any]) -> list[MediaRef]:
    cards = array(
        action,
        "cards",
        "interactive['action']",
        required=True,
        min_items=1,
        max_items=CAROUSEL_MAX_CARDS,
    )
    refs: list[MediaRef] = []
    for i, c in enumerate(cards):
        p = f"interactive['action']['cards'][{i}]"
        card = as_obj(c, p)
        header = as_obj(req(card, "header", p), f"{p}['header']")
        htype = enum(
            req(header, "type", f"{p}['header']"), ["image", "video"], f"{p}['header']['type']"
        )
        refs.append(
            validate_media(htype, req(header, htype, f"{p}['header']"), f"{p}['header']['{htype}']")
        )
        as_obj(req(card, "action", p), f"{p}['action']")
    return refs
