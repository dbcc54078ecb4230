"""The operator API's agents resource (docs/operator-api.md): who answers in the inbox.

Agents are per stack, named by their user name (the token's ``username``). Automatic
assignment picks, round-robin, agents who are ``available`` and below ``max_open``.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from wacloud.api.auth import Admin, Agent
from wacloud.store import agents as agent_store

router = APIGatewayHttpRouter()
TAG = "agents"


class AvailabilityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    available: bool


class AgentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_open: Annotated[int, Field(ge=0, le=1000)]
    available: bool | None = None


@router.get("/v1/agents", summary="The stack's agents", tags=[TAG])
def list_agents(caller: Agent) -> dict[str, Any]:
    return {"items": [a.as_dict() for a in agent_store.all_agents()], "next_cursor": None}


@router.put(
    "/v1/agents/me",
    summary="Say whether I am available for automatic assignment",
    tags=[TAG],
)
def put_me(body: AvailabilityBody, caller: Agent) -> dict[str, Any]:
    return agent_store.save(caller.name, available=body.available).as_dict()


@router.put(
    "/v1/agents/<name>",
    summary="Set an agent's limit (and availability)",
    description="`max_open`: how many assigned conversations automatic assignment may give "
    "the agent at once.",
    tags=[TAG],
)
def put_agent(
    name: Annotated[str, Path(pattern=r"^[^\x00-\x1f/]{1,128}$")], body: AgentBody, caller: Admin
) -> dict[str, Any]:
    return agent_store.save(name, available=body.available, max_open=body.max_open).as_dict()
