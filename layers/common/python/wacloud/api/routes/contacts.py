"""The operator API's contacts resource (docs/operator-api.md).

A number's contacts are those who wrote to it (the gsi2 contacts index, newest
activity first). Agents read them; admins edit tags, attributes and the marketing
opt-out, and block or unblock (ours and Meta's Block API, `wacloud.moderation`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from wacloud import moderation
from wacloud.api.auth import Admin, Agent
from wacloud.api.errors import ApiError, invalid_cursor
from wacloud.infra.clock import now
from wacloud.store import contacts as contact_store
from wacloud.store import segments

router = APIGatewayHttpRouter()
TAGS = ["contacts"]

PnidPath = Annotated[str, Path(pattern=r"^[0-9]{1,20}$", description="Phone number id")]
WaIdPath = Annotated[
    str, Path(pattern=r"^\+?[0-9]{7,15}$", description="The customer's WhatsApp id (digits)")
]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[
    str | None, Query(max_length=2048, description="next_cursor of the previous page")
]
TAG_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
Tag = Annotated[str, Field(pattern=TAG_PATTERN)]
# Strings (dates as ISO-8601 text) or numbers; null removes the attribute.
AttributeValue = Annotated[str, Field(max_length=256)] | int | float | None


class ContactPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags_add: Annotated[list[Tag], Field(max_length=50)] = Field(default_factory=list)
    tags_remove: Annotated[list[Tag], Field(max_length=50)] = Field(default_factory=list)
    attributes: Annotated[dict[str, AttributeValue], Field(max_length=50)] = Field(
        default_factory=dict,
        description="Attribute values (string, number, ISO date); null removes one",
    )
    opted_out: bool | None = Field(
        default=None, description="Marketing opt-out, as if the customer had asked"
    )

    @field_validator("attributes")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not _ATTRIBUTE_NAME.match(name):
                raise ValueError("attribute names are 1-64 of A-Z a-z 0-9 _")
        return value


class BlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: float | None = Field(
        default=None, description="Epoch seconds the block ends; none: until unblocked"
    )
    reason: Annotated[str, Field(max_length=200)] = "operator"


def _digits(wa_id: str) -> str:
    return wa_id.removeprefix("+")


def view(item: dict[str, Any]) -> dict[str, Any]:
    """A contact as the API shows it (agents may see the number; logs never do)."""
    at = now()
    blocked_until = item.get("blocked_until")
    blocked = bool(item.get("blocked")) and (blocked_until is None or float(blocked_until) > at)
    return {
        "wa_id": item.get("wa_id"),
        "profile_name": item.get("profile_name"),
        "first_seen": item.get("first_seen"),
        "last_seen": item.get("last_seen"),
        "window_open": contact_store.window_open(item, at),
        "window_expires_at": item.get("window_expires_at"),
        "window": contact_store.window(item, at),
        "tags": sorted(str(t) for t in item.get("tags") or ()),
        "attributes": dict(item.get("attributes") or {}),
        "opted_out": bool(item.get("opted_out_marketing")),
        "opted_out_at": item.get("opted_out_marketing_at"),
        "opted_out_reason": item.get("opted_out_marketing_reason"),
        "blocked": blocked,
        "blocked_until": blocked_until if blocked else None,
        "blocked_reason": item.get("blocked_reason") if blocked else None,
        "meta_blocked": bool(item.get("meta_blocked")) if blocked else False,
    }


def _load(pnid: str, wa_id: str) -> dict[str, Any]:
    item = contact_store.load(pnid, _digits(wa_id))
    if item is None:
        raise ApiError(404, "not_found", "no such contact for this number")
    return item


@router.get(
    "/v1/numbers/<pnid>/contacts",
    summary="List a number's contacts",
    description="Contacts who wrote to the number, newest activity first; `tag` filters.",
    tags=TAGS,
)
def list_contacts(
    pnid: PnidPath,
    caller: Agent,
    tag: Annotated[str | None, Query(pattern=TAG_PATTERN)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    try:
        found, next_cursor = segments.contacts_page(pnid, limit=limit, cursor=cursor, tag=tag)
    except segments.CursorError as exc:
        raise invalid_cursor(exc) from exc
    return {"items": [view(i) for i in found], "next_cursor": next_cursor}


@router.get(
    "/v1/numbers/<pnid>/contacts/<wa_id>",
    summary="Show a contact",
    tags=TAGS,
)
def show_contact(pnid: PnidPath, wa_id: WaIdPath, caller: Agent) -> dict[str, Any]:
    return view(_load(pnid, wa_id))


@router.patch(
    "/v1/numbers/<pnid>/contacts/<wa_id>",
    summary="Edit a contact's tags, attributes and marketing opt-out",
    description="Tags are added and removed; an attribute set to null is removed. "
    "`opted_out` records the choice now, as the customer's own would be.",
    tags=TAGS,
)
def patch_contact(
    pnid: PnidPath, wa_id: WaIdPath, body: ContactPatch, caller: Admin
) -> dict[str, Any]:
    wa = _digits(wa_id)
    overlap = set(body.tags_add) & set(body.tags_remove)
    if overlap:
        raise ApiError(
            400,
            "invalid_request",
            "a tag cannot be both added and removed",
            [{"field": "tags_remove", "problem": "conflict", "message": "also in tags_add"}],
        )
    _load(pnid, wa)
    item: dict[str, Any] | None = None
    if body.tags_add or body.tags_remove or body.attributes:
        item = segments.update_profile(
            pnid,
            wa,
            tags_add=body.tags_add,
            tags_remove=body.tags_remove,
            attributes=body.attributes,
        )
    if body.opted_out is not None:
        contact_store.apply_consent(
            pnid, wa, opted_out=body.opted_out, at=now(), reason=f"operator:{caller.name}"
        )
        item = None
    return view(item if item is not None else _load(pnid, wa))


@router.post(
    "/v1/numbers/<pnid>/contacts/<wa_id>/block",
    summary="Block a contact (here and at Meta's Block API)",
    description="Meta blocks only users who wrote in the last 24 h; an older contact is "
    "blocked here only (`meta_blocked` false).",
    tags=TAGS,
)
def block_contact(
    pnid: PnidPath, wa_id: WaIdPath, caller: Admin, body: BlockBody | None = None
) -> dict[str, Any]:
    wa = _digits(wa_id)
    _load(pnid, wa)
    body = body or BlockBody()
    if body.until is not None and body.until <= now():
        raise ApiError(
            400,
            "invalid_request",
            "until must be in the future",
            [{"field": "until", "problem": "in_the_past", "message": "must be in the future"}],
        )
    outcome = moderation.block(pnid, wa, until=body.until, reason=body.reason, by=caller.name)
    return {**view(_load(pnid, wa)), "meta_error": outcome.meta_error}


@router.post(
    "/v1/numbers/<pnid>/contacts/<wa_id>/unblock",
    summary="Unblock a contact (at Meta, then here)",
    tags=TAGS,
)
def unblock_contact(pnid: PnidPath, wa_id: WaIdPath, caller: Admin) -> dict[str, Any]:
    wa = _digits(wa_id)
    _load(pnid, wa)
    moderation.unblock(pnid, wa, by=caller.name)
    return view(_load(pnid, wa))
