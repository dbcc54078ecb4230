"""The operator API's campaigns resource (docs/operator-api.md, docs/campaigns.md).

Create from an uploaded CSV (inline text) or from a segment of the number's known
contacts; list; show live progress with per-variant figures; pause, resume, cancel.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from wacloud import campaigns
from wacloud.api.auth import Admin
from wacloud.api.errors import ApiError, invalid_cursor, validation_fields
from wacloud.store import campaigns as campaign_store
from wacloud.store import segments, tenants

router = APIGatewayHttpRouter()
TAGS = ["campaigns"]

PnidPath = Annotated[str, Path(pattern=r"^[0-9]{1,20}$", description="Phone number id")]
CampaignPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="Campaign id")]
Tag = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
When = Annotated[
    str | float,
    Field(description="Epoch seconds, ISO-8601, or an age such as 90d / 12h / 30m"),
]
CSV_MAX_CHARS = 5 * 1024 * 1024


class VariantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")] = "A"
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=512)]
    language: Annotated[str, Field(min_length=2, max_length=15)] = "en_US"
    weight: Annotated[float, Field(gt=0)] = 1.0
    variables: dict[str, Any] | None = Field(
        default=None,
        description='{"body": ["{first_name}"]}: {column} placeholders from the row or '
        "the contact's attributes",
    )


class AttributeFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$")]
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "before", "after", "exists"]
    value: str | float | bool | None = None

    @model_validator(mode="after")
    def _needs_value(self) -> AttributeFilter:
        if self.op != "exists" and self.value is None:
            raise ValueError("value is required for this op")
        return self


class SegmentBody(BaseModel):
    """Every given condition must hold; contacts are those who wrote to the number."""

    model_config = ConfigDict(extra="forbid")

    tags_any: list[Tag] = Field(default_factory=list)
    tags_all: list[Tag] = Field(default_factory=list)
    tags_none: list[Tag] = Field(default_factory=list)
    attributes: Annotated[list[AttributeFilter], Field(max_length=20)] = Field(default_factory=list)
    last_seen_before: When | None = None
    last_seen_after: When | None = None
    opted_out: bool | None = Field(
        default=False, description="false (default): leave opted-out contacts out; null: any"
    )


class RecipientsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: Annotated[str, Field(min_length=1, max_length=CSV_MAX_CHARS)] | None = Field(
        default=None,
        description="A CSV's text: header row with a wa_id, to or phone column; no newlines "
        "inside fields",
    )
    segment: SegmentBody | None = None

    @model_validator(mode="after")
    def _one(self) -> RecipientsBody:
        if (self.csv is None) == (self.segment is None):
            raise ValueError("give exactly one of csv or segment")
        return self


class CampaignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] | None = Field(
        default=None, description="Your id: creating the same id again changes nothing"
    )
    name: Annotated[str, Field(max_length=200)] = ""
    waba_id: Annotated[str, Field(pattern=r"^[0-9]{1,20}$")] | None = Field(
        default=None, description="Default: the number's WABA (templates are checked)"
    )
    variants: Annotated[list[VariantBody], Field(min_length=1, max_length=10)]
    start_at: AwareDatetime | None = None
    priority: Annotated[int, Field(ge=0, le=9)] = 3
    max_per_minute: Annotated[int, Field(ge=1)] | None = None
    marketing: bool | None = None
    recipients: RecipientsBody


def _spec(pnid: str, body: CampaignBody) -> dict[str, Any]:
    spec = body.model_dump(exclude={"recipients"}, exclude_none=True, mode="json")
    spec["phone_number_id"] = pnid
    if not spec.get("waba_id"):
        waba = tenants.waba_for(pnid)
        if waba:
            spec["waba_id"] = waba
    return spec


@router.post(
    "/v1/numbers/<pnid>/campaigns",
    summary="Create a campaign from a CSV or a segment of known contacts",
    description="201 with the new campaign's id; 200 if `campaign_id` exists already "
    "(nothing changes). Templates are checked against the mirror first.",
    tags=TAGS,
)
def create_campaign(pnid: PnidPath, body: CampaignBody, caller: Admin) -> Response[Any]:
    spec = _spec(pnid, body)
    if body.campaign_id and campaign_store.load(pnid, body.campaign_id) is not None:
        return _json(200, {"campaign_id": body.campaign_id, "created": False})
    result: dict[str, Any]
    try:
        if body.recipients.csv is not None:
            result = {"campaign_id": campaigns.create_from_csv(spec, body.recipients.csv)}
        else:
            assert body.recipients.segment is not None
            segment = body.recipients.segment.model_dump(mode="json")
            campaign_id, count = campaigns.create_from_segment(spec, segment)
            result = {"campaign_id": campaign_id, "recipients": count}
    except ValidationError as exc:
        raise ApiError(
            400,
            "invalid_request",
            "the campaign has invalid fields",
            validation_fields(list(exc.errors())),
        ) from exc
    return _json(201, {**result, "created": True})


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    queued = sum(int(v) for k, v in item.items() if k.startswith("queued#"))
    return {
        "campaign_id": item.get("campaign_id"),
        "name": item.get("name"),
        "status": item.get("status"),
        "created_at": item.get("created_at"),
        "start_at": item.get("start_at"),
        "completed_at": item.get("completed_at"),
        "cancelled_at": item.get("cancelled_at"),
        "variants": [v.get("name") for v in item.get("variants") or ()],
        "queued": queued,
        "audience": item.get("audience"),
    }


@router.get(
    "/v1/numbers/<pnid>/campaigns",
    summary="List a number's campaigns, newest first",
    tags=TAGS,
)
def list_campaigns(
    pnid: PnidPath,
    caller: Admin,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    try:
        found, next_cursor = segments.index_page(
            campaign_store.list_index_pk(pnid), limit=limit, cursor=cursor
        )
    except segments.CursorError as exc:
        raise invalid_cursor(exc) from exc
    return {"items": [_summary(i) for i in found], "next_cursor": next_cursor}


def _load(pnid: str, campaign_id: str) -> dict[str, Any]:
    item = campaign_store.load(pnid, campaign_id)
    if item is None:
        raise ApiError(404, "not_found", "no such campaign for this number")
    return item


@router.get(
    "/v1/numbers/<pnid>/campaigns/<campaign_id>",
    summary="A campaign's progress and per-variant figures",
    description="status, progress (share of the list read), skipped by reason, totals and "
    "per variant: queued, sent, delivered, read, failed, replied, rejected, cancelled.",
    tags=TAGS,
)
def show_campaign(pnid: PnidPath, campaign_id: CampaignPath, caller: Admin) -> dict[str, Any]:
    item = _load(pnid, campaign_id)
    figures = campaigns.stats(pnid, campaign_id)
    return {**_summary(item), **figures}


def _steer(pnid: str, campaign_id: str, action: str) -> dict[str, Any]:
    _load(pnid, campaign_id)
    step = {"pause": campaigns.pause, "resume": campaigns.resume, "cancel": campaigns.cancel}
    step[action](pnid, campaign_id)  # CampaignStateError (a ConflictError) -> 409 conflict
    return {"campaign_id": campaign_id, "status": _load(pnid, campaign_id).get("status")}


@router.post(
    "/v1/numbers/<pnid>/campaigns/<campaign_id>/pause",
    summary="Pause a campaign (from scheduled or running)",
    tags=TAGS,
)
def pause_campaign(pnid: PnidPath, campaign_id: CampaignPath, caller: Admin) -> dict[str, Any]:
    return _steer(pnid, campaign_id, "pause")


@router.post(
    "/v1/numbers/<pnid>/campaigns/<campaign_id>/resume",
    summary="Resume a paused campaign",
    tags=TAGS,
)
def resume_campaign(pnid: PnidPath, campaign_id: CampaignPath, caller: Admin) -> dict[str, Any]:
    return _steer(pnid, campaign_id, "resume")


@router.post(
    "/v1/numbers/<pnid>/campaigns/<campaign_id>/cancel",
    summary="Cancel a campaign for good (queued messages are withdrawn)",
    tags=TAGS,
)
def cancel_campaign(pnid: PnidPath, campaign_id: CampaignPath, caller: Admin) -> dict[str, Any]:
    return _steer(pnid, campaign_id, "cancel")
