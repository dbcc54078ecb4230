"""/{waba-id}/message_templates and /{template-id} (docs/meta/templates.md#management)."""

from __future__ import annotations

import base64
import json
from collections import deque
from typing import Any
from urllib.parse import urlencode

from ..errors import GraphError
from ..models import Template
from ..templates import SUB_DUPLICATE, SUB_TEMPLATE_LIMIT, validate_create
from .base import Ctx, Result, params

# Default page size is NOT CONFIRMED (docs/meta/templates.md#management GAP); 25 is the usual Graph
# default.
DEFAULT_LIMIT = 25
CREATIONS_PER_HOUR = 100  # per WABA (docs/meta/templates.md#management)
# an approved template's name is blocked 30 days (docs/meta/templates.md#management)
DELETED_NAME_BLOCK = 30 * 86400
HSM_IDS_MAX = 100


def _cursor(tpl_id: str) -> str:
    return base64.b64encode(tpl_id.encode()).decode()


def _decode(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError as exc:
        raise GraphError(100, "Invalid cursor.") from exc


def list_templates(ctx: Ctx, waba: str) -> Result:
    args = ctx.req.args
    core = ctx.core
    with core.state.lock:
        items = sorted(core.state.templates_for(waba), key=lambda t: (t.created_at, t.id))
        for key in ("name", "language", "category", "status"):
            if key in args:
                want = args[key]
                items = [
                    t
                    for t in items
                    if str(getattr(t, key)).lower() == want.lower()
                    or (key == "name" and want in t.name)
                ]
        try:
            limit = int(args.get("limit", DEFAULT_LIMIT))
        except ValueError as exc:
            raise GraphError(100, "Param limit must be an integer.") from exc
        if limit < 1:
            raise GraphError(100, "Param limit must be a positive integer.")
        ids = [t.id for t in items]
        start = 0
        if "after" in args:
            after = _decode(args["after"])
            start = ids.index(after) + 1 if after in ids else len(ids)
        elif "before" in args:
            before = _decode(args["before"])
            end = ids.index(before) if before in ids else 0
            start = max(0, end - limit)
        page = items[start : start + limit]
        fields = [f for f in args.get("fields", "").split(",") if f]
        data = [_fields(t, fields) for t in page]
    body: dict[str, Any] = {"data": data}
    if page:
        body["paging"] = {"cursors": {"before": _cursor(page[0].id), "after": _cursor(page[-1].id)}}
        if start + limit < len(items):
            q = dict(args.items())
            q.pop("before", None)
            q["after"] = _cursor(page[-1].id)
            body["paging"]["next"] = (
                f"{core.base_url}/{ctx.version}/{waba}/message_templates?{urlencode(q)}"
            )
        if start > 0:
            q = dict(args.items())
            q.pop("after", None)
            q["before"] = _cursor(page[0].id)
            body["paging"]["previous"] = (
                f"{core.base_url}/{ctx.version}/{waba}/message_templates?{urlencode(q)}"
            )
    else:
        body["paging"] = {"cursors": {}}
    return 200, body


def _fields(t: Template, fields: list[str]) -> dict[str, Any]:
    full = t.graph()
    if not fields:
        return full
    out = {f: full[f] for f in fields if f in full}
    out["id"] = t.id  # Graph always returns id
    return out


def create_template(ctx: Ctx, waba: str) -> Result:
    body = params(ctx.req)
    if isinstance(body.get("components"), str):
        body["components"] = json.loads(body["components"])
    name, language, category, fmt, comps = validate_create(body)
    core = ctx.core
    now = core.clock.now()
    with core.state.lock:
        existing = core.state.templates_for(waba)
        if any(t.name == name and t.language == language for t in existing):
            raise GraphError(
                100,
                "Content in This Language Already Exists",
                subcode=SUB_DUPLICATE,
                user_title="Content in This Language Already Exists",
                user_msg=f"There is already {language} content for this template.",
            )
        blocked = core.state.deleted_template_names.get((waba, name))
        if blocked is not None and now - blocked < DELETED_NAME_BLOCK:
            # Code not documented; 100 is the emulator's choice (NOT CONFIRMED).
            raise GraphError(
                100,
                f"The name {name} belonged to an approved template deleted "
                "less than 30 days ago and cannot be reused yet.",
            )
        if len(existing) >= core.cfg.templates_per_waba:
            # docs/meta/templates.md#management: 2388019 at the limit; sent as subcode of 100 like
            # 2388024.
            raise GraphError(100, "Message template limit reached.", subcode=SUB_TEMPLATE_LIMIT)
        window = core.state.template_creations.setdefault(waba, deque())
        while window and now - window[0] >= 3600:
            window.popleft()
        if len(window) >= CREATIONS_PER_HOUR:
            # 100 creations per WABA per hour (docs/meta/templates.md#management); code not seen ->
            # 80007, the WABA rate-limit code (NOT CONFIRMED).
            raise GraphError(80007, "Template creation rate limit reached (100 per hour).")
        window.append(now)
        tpl = core.add_template(
            name,
            language=language,
            category=category,
            components=comps,
            status="PENDING",
            parameter_format=fmt,
            waba_id=waba,
        )
    core.schedule_review(tpl)
    return 200, {"id": tpl.id, "status": "PENDING", "category": category}


def delete_templates(ctx: Ctx, waba: str) -> Result:
    args = params(ctx.req)
    core = ctx.core
    name = args.get("name")
    hsm_id = args.get("hsm_id")
    hsm_ids_raw = args.get("hsm_ids")
    with core.state.lock:
        pool = core.state.templates_for(waba)
        if hsm_ids_raw is not None:
            if name is not None or hsm_id is not None:
                raise GraphError(100, "hsm_ids cannot be combined with name or hsm_id.")
            ids = json.loads(hsm_ids_raw) if isinstance(hsm_ids_raw, str) else hsm_ids_raw
            if not isinstance(ids, list) or not ids:
                raise GraphError(100, "Param hsm_ids must be a non-empty array.")
            if len(ids) > HSM_IDS_MAX:
                raise GraphError(100, "Param hsm_ids must have at most 100 elements.")
            targets = [t for t in pool if t.id in {str(i) for i in ids}]
            if len(targets) != len(set(map(str, ids))):
                raise GraphError(100, "One or more hsm_ids are invalid; nothing was deleted.")
        elif name is not None:
            targets = [
                t for t in pool if t.name == name and (hsm_id is None or t.id == str(hsm_id))
            ]
            if not targets:
                raise GraphError(100, f'Message template "{name}" not found.')
        else:
            raise GraphError(131008, "The parameter name is required.")
        if any(t.status == "DISABLED" for t in targets):
            raise GraphError(100, "Disabled templates cannot be deleted.")
        now = core.clock.now()
        for t in targets:
            del core.state.templates[t.id]
            if t.status == "APPROVED":
                core.state.deleted_template_names[(waba, t.name)] = now
    for t in targets:
        core.emit(
            "message_template_status_update",
            {
                "event": "DELETED",
                "message_template_id": int(t.id),
                "message_template_name": t.name,
                "message_template_language": t.language,
                "reason": None,
                "message_template_category": t.category,
            },
            waba_id=waba,
        )
    return 200, {"success": True}


def get_template(ctx: Ctx, tpl: Template) -> Result:
    fields = [f for f in ctx.req.args.get("fields", "").split(",") if f]
    return 200, _fields(tpl, fields)
