"""The operator API's templates resource (docs/operator-api.md): a number's message
templates as the mirror holds them (TemplateSync every 6 hours, and Meta's status,
quality and category webhooks at once). Create and delete come later (issue #13)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from wacloud.api.auth import Agent
from wacloud.api.errors import ApiError
from wacloud.store import template_mirror, tenants

router = APIGatewayHttpRouter()
TAGS = ["templates"]
PNID = Annotated[str, Path(description="The business phone number id", pattern=r"^[0-9]{1,32}$")]


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    language: str
    status: str | None = Field(None, description="Meta's: APPROVED, PENDING, REJECTED, PAUSED...")
    category: str | None = Field(None, description="MARKETING, UTILITY or AUTHENTICATION")
    quality: str | None = Field(None, description="GREEN, YELLOW, RED or UNKNOWN")
    parameter_format: str | None = None
    parameters: Any = Field(None, description="The parameters a send must fill, by component")
    components: list[Any] | None = None
    synced_at: float | None = None


class TemplateList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waba_id: str
    items: list[Template]
    next_cursor: str | None = None


@router.get(
    "/v1/numbers/<pnid>/templates",
    summary="A number's message templates with status, category and quality",
    description="From the template mirror of the number's WABA, by name then language. "
    "Deleted templates are left out unless `deleted=true`. `components=false` leaves out "
    "the components (smaller answers).",
    tags=TAGS,
)
def list_templates(
    pnid: PNID,
    caller: Agent,
    status: Annotated[str | None, Query(description="Only this status, e.g. APPROVED")] = None,
    name: Annotated[str | None, Query(description="Only names starting with this")] = None,
    deleted: Annotated[bool, Query()] = False,
    components: Annotated[bool, Query()] = True,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> TemplateList:
    waba = tenants.waba_for(pnid)
    if waba is None:
        raise ApiError(
            404, "not_found", "no WABA is known for this number (tenant waba_id or the secret)"
        )
    items = sorted(
        template_mirror.mirror_items(waba), key=lambda i: (str(i.get("sk")), str(i.get("pk")))
    )
    chosen = [
        i
        for i in items
        if (deleted or not i.get("deleted"))
        and (status is None or str(i.get("status") or "").upper() == status.upper())
        and (name is None or str(i.get("name") or "").startswith(name))
        and (cursor is None or str(i.get("sk")) > cursor)
    ]
    page = chosen[:limit]
    return TemplateList(
        waba_id=waba,
        items=[
            Template(
                name=str(i.get("name")),
                language=str(i.get("language")),
                status=i.get("status"),
                category=i.get("category"),
                quality=i.get("quality"),
                parameter_format=i.get("parameter_format"),
                parameters=i.get("parameters"),
                components=i.get("components") if components else None,
                synced_at=float(i["synced_at"]) if i.get("synced_at") else None,
            )
            for i in page
        ],
        next_cursor=str(page[-1].get("sk")) if len(chosen) > limit else None,
    )
