"""Phone number, business profile and block users (docs/meta/blocking.md,
docs/meta/account.md#business-profile, docs/meta/account.md#phone-number)."""

from __future__ import annotations

import base64
from typing import Any

from ..errors import GraphError, bad_param, invalid, missing, title_for
from ..models import PhoneNumber
from ..validation.common import array, as_obj, enum, no_unknown, req, string
from ..validation.message import normalize_recipient
from .base import Ctx, Result, params, read_json

BLOCK_PER_REQUEST = 1000
BLOCKLIST_MAX = 64000
BLOCK_WINDOW = 86400  # only users who messaged in the last 24 h can be blocked
# GET page size: Graph's usual default 25; the maximum is not documented (NOT CONFIRMED).
LIST_DEFAULT_LIMIT = 25
LIST_MAX_LIMIT = 1000
VERTICALS = (
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "ALCOHOL",
    "ONLINE_GAMBLING",
    "PHYSICAL_GAMBLING",
    "OTC_DRUGS",
)
PROFILE_FIELDS = (
    "about",
    "address",
    "description",
    "email",
    "profile_picture_url",
    "websites",
    "vertical",
)
# CONFLICT (docs/meta/account.md#business-profile): description max 256 (OAS) vs 512 (PYWA, On-Prem,
# BSPs) -> stricter 256.
DESCRIPTION_MAX = 256
DEFAULT_PN_FIELDS = ("id", "display_phone_number", "verified_name", "quality_rating")


# ------------------------------------------------------------------ phone number
def phone_number_fields(pn: PhoneNumber) -> dict[str, Any]:
    return {
        "id": pn.id,
        "display_phone_number": pn.display_phone_number,
        "verified_name": pn.verified_name,
        "quality_rating": pn.quality_rating,
        "code_verification_status": pn.code_verification_status,
        "name_status": pn.name_status,
        "platform_type": pn.platform_type,
        "account_mode": pn.account_mode,
        "status": pn.status,
        "is_official_business_account": False,
        "throughput": {"level": pn.throughput_level},
        "whatsapp_business_manager_messaging_limit": pn.messaging_limit_tier,
        # deprecated (docs/meta/account.md#phone-number) but still readable
        "messaging_limit_tier": pn.messaging_limit_tier,
    }


def get_phone_number(ctx: Ctx, pn: PhoneNumber) -> Result:
    full = phone_number_fields(pn)
    fields = [f for f in ctx.req.args.get("fields", "").split(",") if f] or list(DEFAULT_PN_FIELDS)
    for f in fields:
        if f not in full:
            raise GraphError(
                100,
                f"Tried accessing nonexisting field ({f}) on node type "
                "(WhatsAppBusinessPhoneNumber)",
            )
    out = {f: full[f] for f in fields}
    out["id"] = pn.id
    return 200, out


# ------------------------------------------------------------------ business profile
def get_profile(ctx: Ctx, pnid: str) -> Result:
    pn = ctx.core.phone_number(pnid)
    fields = [f for f in ctx.req.args.get("fields", "").split(",") if f] or list(PROFILE_FIELDS)
    for f in fields:
        if f not in PROFILE_FIELDS:
            raise GraphError(100, f"Tried accessing nonexisting field ({f}).")
    with ctx.core.state.lock:
        data = {f: pn.business_profile.get(f) for f in fields}
    data["messaging_product"] = "whatsapp"
    return 200, {"data": [data]}


def update_profile(ctx: Ctx, pnid: str) -> Result:
    pn = ctx.core.phone_number(pnid)
    body = as_obj(read_json(ctx.req), "body")
    no_unknown(
        body,
        {
            "messaging_product",
            "about",
            "address",
            "description",
            "email",
            "websites",
            "vertical",
            "profile_picture_handle",
        },
        "",
    )
    if req(body, "messaging_product", "") != "whatsapp":
        raise invalid("messaging_product", 'must be "whatsapp".')
    about = string(body, "about", "", max_len=139)
    if about is not None and len(about) < 1:
        raise bad_param("about", "must be at least 1 character long.")
    string(body, "address", "", max_len=256)
    string(body, "description", "", max_len=DESCRIPTION_MAX)
    string(body, "email", "", max_len=128)
    sites = array(body, "websites", "", max_items=2)
    for i, s in enumerate(sites):
        if not isinstance(s, str):
            raise bad_param(f"websites[{i}]", "must be a string.")
        if len(s) > 256:
            raise bad_param(f"websites[{i}]", "must be at most 256 characters long.")
    if "vertical" in body:
        enum(body["vertical"], VERTICALS, "vertical")
    handle = string(body, "profile_picture_handle", "")
    with ctx.core.state.lock:
        for k in ("about", "address", "description", "email", "websites", "vertical"):
            if k in body:
                pn.business_profile[k] = body[k]
        if handle:
            pn.business_profile["profile_picture_url"] = (
                f"{ctx.core.base_url}/profile_pictures/{pn.id}.jpg"
            )
    return 200, {"success": True}


# ------------------------------------------------------------------ block users
# docs/meta/blocking.md. Per-user error codes are not documented beyond the 139100 family:
# every per-user failure carries 139100, except a full blocklist (139101).
NOT_RECENT = "Only users who messaged the business in the last 24 hours can be blocked."


def _user_error(details: str, code: int = 139100) -> dict[str, Any]:
    return {
        "message": f"(#{code}) {title_for(code)}",
        "code": code,
        "error_data": {"details": details},
    }


def _block_one(
    core: Any, pn: PhoneNumber, wa_id: str, now: float, business: set[str]
) -> str | None:
    """Block one user; the reason it failed, or None. Called under the state lock."""
    if wa_id in business:
        return "A business cannot be blocked."
    u = core.state.users.get((pn.id, wa_id))
    if u is None or u.last_inbound_at is None or now - u.last_inbound_at >= BLOCK_WINDOW:
        return NOT_RECENT
    if wa_id not in pn.blocklist:
        if len(pn.blocklist) >= BLOCKLIST_MAX:
            return "limit"
        pn.blocklist[wa_id] = now
        pn.blocklist_version += 1
    return None


def block_users(ctx: Ctx, pnid: str, *, block: bool) -> Result:
    """POST blocks, DELETE unblocks. All done: 200 with the lists. Some or all failed:
    400 with the lists and error 139100 beside them (docs/meta/blocking.md#responses)."""
    core = ctx.core
    pn = core.phone_number(pnid)
    body = as_obj(read_json(ctx.req), "body")
    if req(body, "messaging_product", "") != "whatsapp":
        raise invalid("messaging_product", 'must be "whatsapp".')
    users = array(body, "block_users", "", required=True, min_items=1, max_items=BLOCK_PER_REQUEST)
    done: list[dict[str, str]] = []
    failed: list[dict[str, Any]] = []
    business_numbers = {p.display_phone_number for p in core.state.phone_numbers.values()}
    now = core.clock.now()
    with core.state.lock:
        for i, entry in enumerate(users):
            e = as_obj(entry, f"block_users[{i}]")
            raw = e.get("user")
            if not isinstance(raw, str):
                raise missing(f"block_users[{i}]['user']")
            try:
                wa_id = normalize_recipient(raw, pn.display_phone_number)
            except GraphError:
                # wa_id "may not be present if the number is invalid"
                failed.append({"input": raw, "errors": [_user_error("Invalid phone number.")]})
                continue
            if block:
                why = _block_one(core, pn, wa_id, now, business_numbers)
            elif wa_id in pn.blocklist:
                del pn.blocklist[wa_id]
                pn.blocklist_version += 1
                why = None
            else:
                why = "User is not blocked."
            if why is None:
                done.append({"input": raw, "wa_id": wa_id})
            elif why == "limit":
                error = _user_error("The blocklist holds at most 64,000 users.", 139101)
                failed.append({"input": raw, "wa_id": wa_id, "errors": [error]})
            else:
                failed.append({"input": raw, "wa_id": wa_id, "errors": [_user_error(why)]})
    lists: dict[str, Any] = {("added_users" if block else "removed_users"): done}
    out: dict[str, Any] = {"messaging_product": "whatsapp", "block_users": lists}
    if not failed:
        return 200, out
    lists["failed_users"] = failed
    what = "block" if block else "unblock"
    err = GraphError(139100, f"Failed to {what} some users, see the block_users response list.")
    out.update(err.envelope(core.ids.fbtrace()))
    return err.status, out


def _cursor(version: int, wa_id: str) -> str:
    return base64.urlsafe_b64encode(f"{version}:{wa_id}".encode()).decode()


def _read_cursor(raw: Any) -> tuple[int, str]:
    try:
        version, _, wa_id = base64.urlsafe_b64decode(str(raw)).decode().partition(":")
        return int(version), wa_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(100, "Invalid cursor.") from exc


def list_blocked(ctx: Ctx, pnid: str) -> Result:
    """GET: the blocklist in pages (`limit`, cursors `after` / `before`). A cursor from
    before the list changed answers 139102 (docs/meta/blocking.md#list)."""
    pn = ctx.core.phone_number(pnid)
    args = params(ctx.req)
    try:
        limit = int(args.get("limit", LIST_DEFAULT_LIMIT))
    except ValueError as exc:
        raise GraphError(100, "Param limit must be an integer.") from exc
    if not 1 <= limit <= LIST_MAX_LIMIT:
        raise GraphError(100, f"Param limit must be between 1 and {LIST_MAX_LIMIT}.")
    with ctx.core.state.lock:
        ids = list(pn.blocklist)
        version = pn.blocklist_version
    start, end = 0, len(ids)
    for name in ("after", "before"):
        if name in args:
            seen_version, anchor = _read_cursor(args[name])
            if seen_version != version or anchor not in pn.blocklist:
                raise GraphError(139102, "The blocklist changed while paging; start again.")
            at = ids.index(anchor)
            if name == "after":
                start = at + 1
            else:
                start, end = max(0, at - limit), at
    page = ids[start : min(end, start + limit)]
    body: dict[str, Any] = {"data": [{"messaging_product": "whatsapp", "wa_id": w} for w in page]}
    paging: dict[str, Any] = {"cursors": {}}
    if page:
        paging["cursors"] = {
            "before": _cursor(version, page[0]),
            "after": _cursor(version, page[-1]),
        }
        base = f"{ctx.core.base_url}/{ctx.version}/{pn.id}/block_users?limit={limit}"
        if start + len(page) < len(ids):
            paging["next"] = f"{base}&after={paging['cursors']['after']}"
        if start > 0:
            paging["previous"] = f"{base}&before={paging['cursors']['before']}"
    body["paging"] = paging
    return 200, body
