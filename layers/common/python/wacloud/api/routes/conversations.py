"""The operator API's conversations resource: the inbox (docs/operator-api.md).

Lists come from the inbox index (gsi2 ``{pnid}#INBOX``): a conversation enters it at
its first handoff or agent action (take, assign, reply, label); conversations only
the bot ever answered are listed under contacts. Threads come from gsi1 (both
directions). Replies go through the normal submission path, recorded with
``origin: agent`` and the agent's name.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from wacloud import conversations
from wacloud.api.auth import Admin, Agent
from wacloud.api.errors import ApiError
from wacloud.infra.clock import now
from wacloud.store import contacts
from wacloud.store import conversations as store
from wacloud.store import inbox as inbox_store

router = APIGatewayHttpRouter()
TAG = "conversations"

Pnid = Annotated[str, Path(pattern=r"^[0-9]{1,32}$", description="The business phone number id")]
WaId = Annotated[str, Path(pattern=r"^[0-9]{5,20}$", description="The customer's WhatsApp id")]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (default 50)")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the last page")]
Label = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
CannedName = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="The canned response's name")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _when(value: str | None, field: str) -> float | None:
    """ISO-8601 or epoch seconds; 400 naming the field otherwise."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400,
            "invalid_request",
            "the request has invalid or missing fields",
            [{"field": field, "problem": "datetime", "message": "ISO-8601 or epoch seconds"}],
        ) from None
    if moment.tzinfo is None:
        raise ApiError(
            400,
            "invalid_request",
            "the request has invalid or missing fields",
            [{"field": field, "problem": "timezone", "message": "give a time zone (Z or +hh:mm)"}],
        )
    return moment.timestamp()


def view(conversation: store.Conversation, at: float, profile: str | None) -> dict[str, Any]:
    waiting = conversation.waiting(at)
    item: dict[str, Any] = {
        "wa_id": conversation.wa_id,
        "state": conversation.effective_state(at),
        "assignee": conversation.assignee,
        "labels": list(conversation.labels),
        "last_activity_at": conversation.last_activity_at,
        "waiting_since": conversation.handoff_at if waiting else None,
        "handoff_reason": conversation.handoff_reason
        if conversation.state in store.WITH_A_PERSON
        else None,
    }
    if profile:
        item["profile_name"] = profile
    return item


def _profiles(pnid: str, wa_ids: list[str]) -> dict[str, str]:
    found = contacts.load_many([(pnid, w) for w in wa_ids])
    return {
        wa_id: str(item["profile_name"])
        for (_, wa_id), item in found.items()
        if item and item.get("profile_name")
    }


@router.get(
    "/v1/numbers/<pnid>/conversations",
    summary="List the inbox",
    description="Waiting for a person first (handoff, nobody assigned), then by last "
    "activity, newest first. Conversations enter the inbox at their first handoff or "
    "agent action; bot-only conversations are listed under contacts.",
    tags=[TAG],
)
def list_conversations(
    pnid: Pnid,
    caller: Agent,
    state: Annotated[
        str | None, Query(pattern=r"^(bot|handoff|assigned|resolved)$", description="Filter")
    ] = None,
    assignee: Annotated[
        str | None, Query(max_length=128, description="An agent's name, or `me`")
    ] = None,
    unassigned: Annotated[
        bool, Query(description="Only conversations nobody has (and not resolved)")
    ] = False,
    label: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(description="Active at or after (ISO/epoch)")] = None,
    until: Annotated[str | None, Query(description="Active before (ISO/epoch)")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    at = now()
    if unassigned and assignee is not None:
        raise ApiError(
            400,
            "invalid_request",
            "the request has invalid or missing fields",
            [{"field": "unassigned", "problem": "conflict", "message": "not with assignee"}],
        )
    filters = store.InboxFilter(
        state=state,
        assignee=caller.name if assignee == "me" else assignee,
        unassigned=unassigned,
        label=label,
        since=_when(since, "since"),
        until=_when(until, "until"),
    )
    found, next_cursor = store.list_inbox(pnid, filters, limit=limit, cursor=cursor, at=at)
    profiles = _profiles(pnid, [c.wa_id for c in found]) if found else {}
    return {
        "items": [view(c, at, profiles.get(c.wa_id)) for c in found],
        "next_cursor": next_cursor,
    }


def _text_of(item: dict[str, Any]) -> str | None:
    if item.get("direction") == "in":
        content = item.get("content") or {}
        for path in (
            ("text", "body"),
            ("interactive", "button_reply", "title"),
            ("interactive", "list_reply", "title"),
            ("button", "text"),
        ):
            value: Any = content
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str):
                return value
        return item.get("transcript") or None
    try:
        submission = json.loads(item.get("submission") or "{}")
    except ValueError:
        return None
    if isinstance(submission, dict):
        text = (submission.get("text") or {}).get("body")
        if text is None and submission.get("type") == "interactive":
            text = ((submission.get("interactive") or {}).get("body") or {}).get("text")
        if text is None and submission.get("type") == "template":
            text = f"[template {(submission.get('template') or {}).get('name')}]"
        return text if isinstance(text, str) else None
    return None


def media_view(item: dict[str, Any]) -> dict[str, Any] | None:
    """An inbound message's cached media as the API shows it (no bucket or key: the
    link comes from GET /v1/numbers/{pnid}/media/{sha256})."""
    media = item.get("media")
    if not isinstance(media, dict) or not media.get("sha256"):
        return None
    shown = {k: media.get(k) for k in ("sha256", "mime_type", "kind", "filename")}
    return {k: v for k, v in shown.items() if v is not None}


def message_view(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("direction") == "in":
        inbound: dict[str, Any] = {
            "direction": "in",
            "wamid": item.get("wamid"),
            "at": item.get("received_at"),
            "type": item.get("type"),
            "text": _text_of(item),
        }
        media = media_view(item)
        if media is not None:
            inbound["media"] = media
        return inbound
    out = {
        "direction": "out",
        "message_id": item.get("message_id"),
        "wamid": item.get("wamid"),
        "at": item.get("created_at"),
        "type": item.get("type"),
        "status": item.get("state"),
        "text": _text_of(item),
        "origin": item.get("origin")
        or ("bot" if "auto-reply" in (item.get("tags") or []) else None),
        "agent": item.get("agent"),
    }
    return {k: v for k, v in out.items() if v is not None}


@router.get(
    "/v1/numbers/<pnid>/conversations/<wa_id>",
    summary="One conversation with a page of its messages",
    description="The record and `messages` (both directions, newest first); `before` is the "
    "`next_before` of the previous page. `window`: the customer-service window "
    "(free-form replies only while open). `suggestion`: the assistant's draft when it "
    "handed over for low confidence, while a person has the conversation (gone once an "
    "agent replies, releases or resolves). An inbound message with cached media has "
    "`media` {sha256, mime_type, kind, filename?}: GET .../media/{sha256} for a link.",
    tags=[TAG],
)
def get_conversation(
    pnid: Pnid,
    wa_id: WaId,
    caller: Agent,
    limit: Limit = 50,
    before: Cursor = None,
) -> dict[str, Any]:
    at = now()
    conversation = store.load(pnid, wa_id)
    contact = contacts.load(pnid, wa_id)
    if not conversation.in_inbox and contact is None and conversation.state == store.BOT:
        raise ApiError(404, "not_found", "no conversation with this customer")
    items, next_before = store.thread(pnid, wa_id, limit=limit, before=before)
    profile = (contact or {}).get("profile_name")
    record = view(conversation, at, str(profile) if profile else None)
    record.update(
        {
            "assigned_at": conversation.assigned_at,
            "resolved_at": conversation.resolved_at,
            "resolved_by": conversation.resolved_by,
            "window_open": contacts.window_open(contact, at),
            "window": contacts.window(contact, at),
            "suggestion": conversation.suggestion if conversation.in_handoff(at) else None,
            "survey": None
            if conversation.survey_message_id is None
            else {
                "message_id": conversation.survey_message_id,
                "sent_at": conversation.survey_sent_at,
                "answer": conversation.survey_answer,
                "answered_at": conversation.survey_answered_at,
            },
            "messages": [message_view(i) for i in items],
            "next_before": next_before,
        }
    )
    return record


class TemplateBody(Strict):
    name: Annotated[str, Field(min_length=1, max_length=512)]
    language: Annotated[str | dict[str, Any], Field(description='`en_US` or {"code": ...}')]
    components: list[dict[str, Any]] | None = None


class ReplyBody(Strict):
    text: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    template: TemplateBody | None = None
    canned: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = None
    params: dict[str, Annotated[str, Field(max_length=1024)]] | None = None
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ReplyBody:
        given = [n for n in ("text", "template", "canned") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, template, canned")
        return self


@router.post(
    "/v1/numbers/<pnid>/conversations/<wa_id>/reply",
    summary="Reply as an agent",
    description="Free form (`text`, or a `canned` response with `params`) only inside the "
    "24-hour window (409 window_closed otherwise); a `template` any time. 202.",
    tags=[TAG],
)
def reply(pnid: Pnid, wa_id: WaId, body: ReplyBody, caller: Agent) -> tuple[dict[str, Any], int]:
    template = None
    if body.template is not None:
        template = body.template.model_dump(exclude_none=True)
        if isinstance(template["language"], str):
            template["language"] = {"code": template["language"]}
    try:
        message_id = conversations.reply(
            pnid,
            wa_id,
            agent=caller.name,
            at=now(),
            text=body.text,
            template=template,
            canned=body.canned,
            params=body.params,
            idempotency_key=body.idempotency_key,
        )
    except conversations.WindowClosedError as exc:
        raise ApiError(409, "window_closed", str(exc)) from None
    except conversations.MissingParamError as exc:
        field = str(exc).split(":", 1)[0]
        raise ApiError(
            400,
            "invalid_request",
            "the canned response needs a parameter that was not given",
            [{"field": field, "problem": "missing", "message": "required by the canned response"}],
        ) from None
    return {"message_id": message_id}, 202


def _record(pnid: str, wa_id: str) -> dict[str, Any]:
    conversation = store.load(pnid, wa_id)
    return view(conversation, now(), None)


@router.post(
    "/v1/numbers/<pnid>/conversations/<wa_id>/take",
    summary="Take the conversation over",
    description="The caller becomes the assignee (state assigned); the assistant and the "
    "menu stay silent until release or resolve. 409 assigned_to_other if another agent "
    "has it (an admin may take it anyway).",
    tags=[TAG],
)
def take(pnid: Pnid, wa_id: WaId, caller: Agent) -> dict[str, Any]:
    try:
        conversations.take(pnid, wa_id, agent=caller.name, at=now(), force=caller.is_admin)
    except conversations.AssignedToOtherError as exc:
        raise ApiError(409, "assigned_to_other", str(exc)) from None
    return _record(pnid, wa_id)


@router.post(
    "/v1/numbers/<pnid>/conversations/<wa_id>/release",
    summary="Give the conversation back to the bot",
    tags=[TAG],
)
def release(pnid: Pnid, wa_id: WaId, caller: Agent) -> dict[str, Any]:
    if not conversations.release(pnid, wa_id, by=caller.name, at=now()):
        raise ApiError(409, "not_with_a_person", "the bot has this conversation already")
    return _record(pnid, wa_id)


@router.post(
    "/v1/numbers/<pnid>/conversations/<wa_id>/resolve",
    summary="Resolve the conversation",
    description="State resolved, the bot answers again; the satisfaction survey (buttons "
    "good / ok / bad) is sent when the tenant's inbox settings have `survey` on and the "
    "window is open. Its answer appears under `survey` in GET.",
    tags=[TAG],
)
def resolve(pnid: Pnid, wa_id: WaId, caller: Agent) -> dict[str, Any]:
    done = conversations.resolve(pnid, wa_id, by=caller.name, at=now())
    return {**view(done.conversation, now(), None), "survey_message_id": done.survey_message_id}


class AssignBody(Strict):
    agent: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]


@router.post(
    "/v1/numbers/<pnid>/conversations/<wa_id>/assign",
    summary="Assign the conversation to an agent",
    tags=[TAG],
)
def assign(pnid: Pnid, wa_id: WaId, body: AssignBody, caller: Agent) -> dict[str, Any]:
    conversations.assign(pnid, wa_id, agent=body.agent, by=caller.name, at=now())
    return _record(pnid, wa_id)


class NoteBody(Strict):
    text: Annotated[str, Field(min_length=1, max_length=4096)]


@router.get(
    "/v1/numbers/<pnid>/conversations/<wa_id>/notes",
    summary="Agents' private notes (never sent to the customer)",
    tags=[TAG],
)
def list_notes(pnid: Pnid, wa_id: WaId, caller: Agent) -> dict[str, Any]:
    return {"items": inbox_store.notes(pnid, wa_id), "next_cursor": None}


@router.post(
    "/v1/numbers/<pnid>/conversations/<wa_id>/notes",
    summary="Add a private note",
    tags=[TAG],
)
def add_note(pnid: Pnid, wa_id: WaId, body: NoteBody, caller: Agent) -> tuple[dict[str, Any], int]:
    return inbox_store.add_note(pnid, wa_id, text=body.text, author=caller.name, at=now()), 201


class LabelsBody(Strict):
    add: Annotated[list[Label], Field(max_length=50)] = []
    remove: Annotated[list[Label], Field(max_length=50)] = []


@router.put(
    "/v1/numbers/<pnid>/conversations/<wa_id>/labels",
    summary="Add and remove labels",
    tags=[TAG],
)
def labels(pnid: Pnid, wa_id: WaId, body: LabelsBody, caller: Agent) -> dict[str, Any]:
    found = store.set_labels(pnid, wa_id, add=body.add, remove=body.remove, at=now())
    return {"wa_id": wa_id, "labels": list(found)}


# ------------------------------------------------------------------ canned responses
class CannedBody(Strict):
    text: Annotated[str, Field(min_length=1, max_length=4096)]


@router.get(
    "/v1/numbers/<pnid>/canned-responses",
    summary="The number's canned responses",
    tags=[TAG],
)
def list_canned(pnid: Pnid, caller: Agent) -> dict[str, Any]:
    return {"items": inbox_store.all_canned(pnid), "next_cursor": None}


@router.put(
    "/v1/numbers/<pnid>/canned-responses/<name>",
    summary="Create or replace a canned response",
    description="`text` with `{param}` placeholders, filled from a reply's `params`.",
    tags=[TAG],
)
def put_canned(pnid: Pnid, name: CannedName, body: CannedBody, caller: Admin) -> dict[str, Any]:
    conversations.validate_canned(body.text)
    return inbox_store.save_canned(pnid, name, text=body.text, by=caller.name, at=now())


@router.delete(
    "/v1/numbers/<pnid>/canned-responses/<name>",
    summary="Delete a canned response",
    tags=[TAG],
)
def delete_canned(pnid: Pnid, name: CannedName, caller: Admin) -> dict[str, Any]:
    if not inbox_store.delete_canned(pnid, name):
        raise ApiError(404, "not_found", "no canned response with this name")
    return {"name": name, "deleted": True}


# ------------------------------------------------------------------ settings
class InboxSettingsPatch(Strict):
    auto_assign: bool | None = None
    survey: bool | None = None


@router.get(
    "/v1/numbers/<pnid>/inbox-settings",
    summary="The number's inbox settings",
    tags=[TAG],
)
def get_settings(pnid: Pnid, caller: Admin) -> dict[str, Any]:
    return inbox_store.load_settings(pnid).as_dict()


@router.patch(
    "/v1/numbers/<pnid>/inbox-settings",
    summary="Change the number's inbox settings",
    description="`auto_assign`: round-robin among available agents below their limit "
    "when a conversation enters handoff. `survey`: send the satisfaction survey on resolve.",
    tags=[TAG],
)
def patch_settings(pnid: Pnid, body: InboxSettingsPatch, caller: Admin) -> dict[str, Any]:
    current = inbox_store.load_settings(pnid)
    updated = inbox_store.InboxSettings(
        auto_assign=current.auto_assign if body.auto_assign is None else body.auto_assign,
        survey=current.survey if body.survey is None else body.survey,
    )
    inbox_store.save_settings(pnid, updated, at=now())
    return updated.as_dict()
