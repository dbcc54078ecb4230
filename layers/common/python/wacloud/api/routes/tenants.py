"""The operator API's tenants resource (docs/operator-api.md): each business number's
limits and WABA, and its assistant's settings (auto-reply on or off, business hours...)
over the organisation's defaults (`/v1/settings/assistant`), which every number
inherits for what it does not set itself.

A tenant is a number the Meta secret names (``tenants``) or one an operator configured
here (store/tenant_admin.py). What the sender uses is shown as it uses it: defaults
for what is unset, the WABA from the table over the secret's.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from wacloud.api.auth import Admin
from wacloud.api.errors import ApiError
from wacloud.infra.credentials import load_credentials
from wacloud.store import assistant, tenant_admin, tenants

router = APIGatewayHttpRouter()
TAGS = ["tenants"]
PNID = Annotated[str, Path(description="The business phone number id", pattern=r"^[0-9]{1,32}$")]
UNLIMITED = -1
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone_number_id: str
    waba_id: str | None = Field(None, description="The table's, else the Meta secret's")
    throughput: int = Field(description="Messages per second the sender allows (Meta: 80)")
    messaging_limit: int = Field(
        description="Unique recipients of business-initiated messages a moving 24 h; -1: none"
    )
    auto_reply: bool = Field(description="The assistant answers customers (its `enabled`)")
    display_phone_number: str | None = Field(
        None, description="How the number is shown to people (the console's number picker)"
    )
    verified_name: str | None = Field(None, description="The business name Meta verified")
    updated_at: float | None = None


class TenantList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Tenant]
    next_cursor: str | None = None


class TenantPatch(BaseModel):
    """Only the fields given change; `waba_id: null` removes the table's WABA (the
    secret's applies again)."""

    model_config = ConfigDict(extra="forbid")

    throughput: int | None = Field(None, ge=1, le=tenants.MAX_THROUGHPUT_MPS)
    messaging_limit: int | None = Field(None, ge=-1, description="-1: no limit")
    waba_id: str | None = Field(None, pattern=r"^[0-9]{1,32}$")
    display_phone_number: str | None = Field(
        None, max_length=32, pattern=r"^\+?[0-9 ()-]{1,32}$", description="null removes it"
    )
    verified_name: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=r"^[^\x00-\x1f]+$",
        description="null removes it",
    )


def _tenant(
    pnid: str,
    item: dict[str, Any],
    assistant_item: dict[str, Any],
    org_item: dict[str, Any],
    secret_waba: str | None,
) -> Tenant:
    config = tenants.TenantConfig.from_item(item)
    return Tenant(
        phone_number_id=pnid,
        waba_id=config.waba_id or secret_waba,
        throughput=config.throughput_mps,
        messaging_limit=UNLIMITED if config.messaging_limit is None else config.messaging_limit,
        auto_reply=assistant.effective(org_item, assistant_item).enabled,
        display_phone_number=_label(item.get("display_phone_number")),
        verified_name=_label(item.get("verified_name")),
        updated_at=float(item["updated_at"]) if item.get("updated_at") else None,
    )


def _label(value: Any) -> str | None:
    return str(value) if value else None


def _secret_wabas() -> dict[str, str | None]:
    return {pnid: t.waba_id for pnid, t in load_credentials().tenants.items()}


@router.get(
    "/v1/tenants",
    summary="The business numbers this stack serves",
    description="Numbers the Meta secret names and numbers configured through this API, "
    "by phone number id, with the limits the sender applies.",
    tags=TAGS,
)
def list_tenants(
    caller: Admin,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> TenantList:
    secret = _secret_wabas()
    numbers = tenant_admin.served_numbers(secret)
    if cursor:
        numbers = [n for n in numbers if n > cursor]
    page = numbers[:limit]
    items = tenant_admin.config_items(page)
    return TenantList(
        items=[_tenant(n, *items[n], secret.get(n)) for n in page],
        next_cursor=page[-1] if len(numbers) > limit else None,
    )


@router.get("/v1/tenants/<pnid>", summary="One number's limits and WABA", tags=TAGS)
def show_tenant(pnid: PNID, caller: Admin) -> Tenant:
    items = tenant_admin.config_items([pnid])[pnid]
    secret = _secret_wabas()
    if pnid not in secret and not items[0] and not items[1]:
        raise ApiError(
            404,
            "not_found",
            "no such tenant: the Meta secret does not name it and nothing is configured for it",
        )
    return _tenant(pnid, *items, secret.get(pnid))


@router.patch(
    "/v1/tenants/<pnid>",
    summary="Change a number's throughput, messaging limit or WABA",
    description="Creates the tenant when it is new. Senders see a change within a minute.",
    tags=TAGS,
)
def change_tenant(pnid: PNID, patch: Annotated[TenantPatch, Body()], caller: Admin) -> Tenant:
    given = patch.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if "throughput" in given:
        changes["throughput_mps"] = _required(given["throughput"], "throughput")
    if "messaging_limit" in given:
        value = _required(given["messaging_limit"], "messaging_limit")
        if value == 0:
            raise ApiError(
                400,
                "invalid_request",
                "messaging_limit: at least 1, or -1 for no limit",
                [
                    {
                        "field": "messaging_limit",
                        "problem": "greater_than_equal",
                        "message": "at least 1, or -1 for no limit",
                    }
                ],
            )
        changes["messaging_limit"] = value
    for name in ("waba_id", "display_phone_number", "verified_name"):
        if name in given:
            changes[name] = given[name]
    item = tenant_admin.change(pnid, changes)
    _, assistant_item, org_item = tenant_admin.config_items([pnid])[pnid]
    return _tenant(pnid, item, assistant_item, org_item, _secret_wabas().get(pnid))


def _required(value: Any, name: str) -> Any:
    if value is None:
        raise ApiError(
            400,
            "invalid_request",
            f"{name} cannot be null",
            [{"field": name, "problem": "null", "message": "cannot be null"}],
        )
    return value


# ------------------------------------------------------------------ the assistant
class AssistantView(BaseModel):
    """The settings in effect: the number's own fields over the organisation's over the
    defaults (for the organisation's view: its fields over the defaults)."""

    model_config = ConfigDict(extra="forbid")

    phone_number_id: str | None = Field(description="null: the organisation's defaults")
    overrides: list[str] = Field(
        description="The fields set at this level (the rest are inherited)"
    )
    enabled: bool = Field(description="Auto-reply: the assistant answers customers")
    model: str | None
    business_name: str
    tone: str
    hours: dict[str, list[list[str]]] = Field(
        description='Opening hours by weekday (mon..sun): [["09:00", "18:00"], ...]; '
        "a day absent is closed"
    )
    time_zone: str
    may_promise: list[str]
    must_not_promise: list[str]
    confidence_threshold: float
    handoff_keywords: list[str] | None = Field(description="null: the default list")
    handoff_timeout_seconds: int
    monthly_token_budget: int = Field(description="Tokens a calendar month; 0: no budget")
    describe_images: bool
    fallback: dict[str, str]


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class AssistantPatch(BaseModel):
    """Only the fields given change (docs/assistant.md describes each); a field set to
    null is no longer set at this level: it inherits again (a number: the
    organisation's value; the organisation: the default)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    model: str | None = Field(None, max_length=100)
    business_name: str | None = Field(None, max_length=200)
    tone: str | None = Field(None, max_length=500)
    hours: dict[Day, list[tuple[str, str]]] | None = None
    time_zone: str | None = Field(None, max_length=64)
    may_promise: list[Annotated[str, Field(max_length=300)]] | None = Field(None, max_length=50)
    must_not_promise: list[Annotated[str, Field(max_length=300)]] | None = Field(
        None, max_length=50
    )
    confidence_threshold: float | None = Field(None, ge=0.0, le=1.0)
    handoff_keywords: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        None, max_length=100
    )
    handoff_timeout_seconds: int | None = Field(None, ge=60, le=30 * 86400)
    monthly_token_budget: int | None = Field(None, ge=0)
    describe_images: bool | None = None
    fallback: (
        dict[Annotated[str, Field(max_length=16)], Annotated[str, Field(max_length=1000)]] | None
    ) = None

    @field_validator("hours")
    @classmethod
    def _spans(
        cls, value: dict[str, list[tuple[str, str]]] | None
    ) -> dict[str, list[tuple[str, str]]] | None:
        for spans in (value or {}).values():
            for start, end in spans:
                if not _HHMM.match(start) or not _HHMM.match(end) or start >= end:
                    raise ValueError('each span is ["HH:MM", "HH:MM"], start before end')
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("an IANA time zone name, e.g. Europe/Lisbon") from None
        return value


def _item_fields(patch: AssistantPatch) -> dict[str, Any]:
    """The patch in item form (what `AssistantSettings.to_item` stores); None removes."""
    given = patch.model_dump(exclude_unset=True)
    converted = assistant.AssistantSettings.from_item(
        {k: v for k, v in given.items() if v is not None}
    ).to_item()
    return {name: None if value is None else converted[name] for name, value in given.items()}


def _view(
    pnid: str | None, org_item: dict[str, Any], number_item: dict[str, Any] | None
) -> AssistantView:
    settings = assistant.effective(org_item, number_item)
    own = assistant.overrides(org_item if pnid is None else number_item)
    return AssistantView(phone_number_id=pnid, overrides=sorted(own), **settings.to_item())


def _applied(item: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    merged = {**assistant.overrides(item), **fields}
    return {k: v for k, v in merged.items() if v is not None}


@router.get(
    "/v1/tenants/<pnid>/assistant",
    summary="A number's assistant settings",
    description="In effect: the number's own fields over the organisation's defaults over "
    "the built-in ones; `overrides` names the number's own. The assistant is off until "
    "enabled.",
    tags=TAGS,
)
def show_assistant(pnid: PNID, caller: Admin) -> AssistantView:
    _, item, org = tenant_admin.config_items([pnid])[pnid]
    return _view(pnid, org, item)


@router.patch(
    "/v1/tenants/<pnid>/assistant",
    summary="Change a number's assistant settings (auto-reply, hours, handoff...)",
    description="Only the fields given change; null makes a field inherit the "
    "organisation's value again. Assistants see a change within a minute.",
    tags=TAGS,
)
def change_assistant(
    pnid: PNID, patch: Annotated[AssistantPatch, Body()], caller: Admin
) -> AssistantView:
    fields = _item_fields(patch)
    _, item, org = tenant_admin.config_items([pnid])[pnid]
    assistant.save_fields(pnid, fields)
    tenant_admin.register(pnid)
    return _view(pnid, org, _applied(item, fields))


@router.get(
    "/v1/settings/assistant",
    summary="The organisation's assistant defaults",
    description="What every number inherits for the fields it does not set (business "
    "hours, time zone, tone, auto-reply...); `overrides` names the fields set here.",
    tags=["settings"],
)
def show_org_assistant(caller: Admin) -> AssistantView:
    item = tenant_admin.org_assistant_item()
    return _view(None, item, None)


@router.patch(
    "/v1/settings/assistant",
    summary="Change the organisation's assistant defaults",
    description="Only the fields given change; null returns a field to the built-in "
    "default. Every number that does not set the field itself follows within a minute.",
    tags=["settings"],
)
def change_org_assistant(patch: Annotated[AssistantPatch, Body()], caller: Admin) -> AssistantView:
    fields = _item_fields(patch)
    item = tenant_admin.org_assistant_item()
    assistant.save_fields(None, fields)
    return _view(None, _applied(item, fields), None)
