"""Phone number, business profile and block users (docs/meta/account.md#block-users,
docs/meta/account.md#business-profile, docs/meta/account.md#phone-number)."""

from __future__ import annotations

import base64
from typing import Any

from ..errors import GraphError, bad_param, invalid, missing
from ..models import PhoneNumber
from ..validation.common import array, as_obj, enum, no_unknown, req, string
from ..validation.message import normalize_recipient
from .base import Ctx, Result, params, read_json

BLOCK_PER_REQUEST = 1000
BLOCKLIST_MAX = 64000
BLOCK_WINDOW = 86400  # only users who messaged in the last 24 h can be blocked
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
def _user_error(details: str) -> dict[str, Any]:
    # Per-user error code is not documented beyond the 139100 family
    # (docs/meta/account.md#block-users): 139100.
    return {
        "message": "(#139100) Failed to block/unblock users",
        "code": 139100,
        "error_data": {"details": details},
    }


def block_users(ctx: Ctx, pnid: str, *, block: bool) -> Result:
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
                failed.append({"input": raw, "errors": [_user_error("Invalid phone number.")]})
                continue
            if block:
                u = core.state.users.get((pn.id, wa_id))
                if wa_id in business_numbers:
                    failed.append(
                        {"input": raw, "errors": [_user_error("A business cannot be blocked.")]}
                    )
                elif (
                    u is None
                    or u.last_inbound_at is None
                    or now - u.last_inbound_at >= BLOCK_WINDOW
                ):
                    failed.append(
                        {
                            "input": raw,
                            "errors": [
                                _user_error(
                                    "Only users who messaged the business in the last "
                                    "24 hours can be blocked."
                                )
                            ],
                        }
                    )
                elif wa_id not in pn.blocklist and len(pn.blocklist) >= BLOCKLIST_MAX:
                    failed.append(
                        {
                            "input": raw,
                            "errors": [
                                {
                                    "message": "(#139101) Blocklist limit reached",
                                    "code": 139101,
                                    "error_data": {
                                        "details": "The blocklist holds at most 64,000 users."
                                    },
                                }
                            ],
                        }
                    )
                else:
                    pn.blocklist.setdefault(wa_id, now)
                    done.append({"input": raw, "wa_id": wa_id})
            elif wa_id in pn.blocklist:
                del pn.blocklist[wa_id]
                done.append({"input": raw, "wa_id": wa_id})
            else:
                failed.append({"input": raw, "errors": [_user_error("User is not blocked.")]})
    result: dict[str, Any] = {("added_users" if block else "removed_users"): done}
    if failed:
        result["failed_users"] = failed
    return 200, {"messaging_product": "whatsapp", "block_users": result}


def list_blocked(ctx: Ctx, pnid: str) -> Result:
    pn = ctx.core.phone_number(pnid)
    args = params(ctx.req)
    try:
        limit = int(args.get("limit", 25))
    except ValueError as exc:
        raise GraphError(100, "Param limit must be an integer.") from exc
    with ctx.core.state.lock:
        ids = list(pn.blocklist)
    start = 0
    if "after" in args:
        after = base64.b64decode(str(args["after"])).decode()
        start = ids.index(after) + 1 if after in ids else len(ids)
    page = ids[start : start + limit]
    body: dict[str, Any] = {"data": [{"messaging_product": "whatsapp", "wa_id": w} for w in page]}
    cursors = {}
    if page:
        cursors = {
            "before": base64.b64encode(page[0].encode()).decode(),
            "after": base64.b64encode(page[-1].encode()).decode(),
        }
    body["paging"] = {"cursors": cursors}
    return 200, body
