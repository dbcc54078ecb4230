"""The operator API's `me` resource: who the caller is, and which numbers they work on.

The console asks it first: the name to show, the roles that decide which screens it
offers, and the business numbers for its number picker. Any agent may ask (an agent
may not list `/v1/tenants`, which shows limits and WABAs); the numbers are those the
tenants resource lists, with only the labels a person picks a number by.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from wacloud.api.auth import Agent, Role
from wacloud.infra.credentials import load_credentials
from wacloud.store import tenant_admin

router = APIGatewayHttpRouter()
TAGS = ["me"]


class Number(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone_number_id: str
    display_phone_number: str | None = Field(
        description="As an admin labelled it (PATCH /v1/tenants/{pnid}); null: not set"
    )
    verified_name: str | None = Field(description="null: not set")


class Me(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The user name (an agent's handle) or a machine client's id")
    roles: list[str] = Field(description="`admin` and/or `agent` (an admin is an agent too)")
    numbers: list[Number] = Field(description="The business numbers this stack serves")


@router.get(
    "/v1/me",
    summary="The caller: name, roles and the numbers they work on",
    description="For any agent or admin.",
    tags=TAGS,
)
def me(caller: Agent) -> Me:
    numbers = tenant_admin.served_numbers(load_credentials().tenants)
    items = tenant_admin.config_items(numbers) if numbers else {}
    return Me(
        name=caller.name,
        roles=[role.value for role in Role if role in caller.roles],
        numbers=[
            Number(
                phone_number_id=n,
                display_phone_number=_label(items[n][0].get("display_phone_number")),
                verified_name=_label(items[n][0].get("verified_name")),
            )
            for n in numbers
        ],
    )


def _label(value: object) -> str | None:
    return str(value) if value else None
