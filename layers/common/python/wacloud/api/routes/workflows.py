"""The operator API's workflows resource and business events (docs/operator-api.md).

A number's workflows: the ones installed (its own definitions or shipped ones) and the
shipped catalog; install, enable, disable. `POST /v1/events` puts a business event on
the stack's bus, where the workflow rule starts the matching workflows.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wacloud import workflows
from wacloud.api.auth import Admin
from wacloud.api.errors import ApiError, validation_fields

router = APIGatewayHttpRouter()
TAGS = ["workflows"]

PnidPath = Annotated[str, Path(pattern=r"^[0-9]{1,20}$", description="Phone number id")]
WorkflowPath = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,40}$", description="Workflow id")]


class InstallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")] | None = Field(
        default=None, description="A shipped workflow's id (see the list's `catalog`)"
    )
    definition: dict[str, Any] | None = Field(
        default=None, description="Your own definition (docs/campaigns.md, Workflows)"
    )

    @model_validator(mode="after")
    def _one(self) -> InstallBody:
        if (self.name is None) == (self.definition is None):
            raise ValueError("give exactly one of name or definition")
        return self


class EventBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,255}$")] = Field(
        description="Must start with the stack's BusinessEventSourcePrefix (business.)"
    )
    detail_type: Annotated[str, Field(min_length=1, max_length=128)]
    detail: dict[str, Any] = Field(
        description="The event; workflows read the tenant from detail.phone_number_id"
    )


def _view(workflow: Any, shipped_ids: set[str]) -> dict[str, Any]:
    return {
        "id": workflow.id,
        "description": workflow.description,
        "on": workflow.on,
        "cancel_on": list(workflow.cancel_on),
        "enabled": workflow.enabled,
        "steps": [s.id for s in workflow.steps],
        "shipped": workflow.id in shipped_ids,
    }


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@router.get(
    "/v1/numbers/<pnid>/workflows",
    summary="A number's installed workflows and the shipped catalog",
    tags=TAGS,
)
def list_workflows(pnid: PnidPath, caller: Admin) -> dict[str, Any]:
    catalog = workflows.shipped()
    installed = workflows.tenant_workflows(pnid)
    installed_ids = {w.id for w in installed}
    return {
        "items": [_view(w, set(catalog)) for w in installed],
        "catalog": [
            {**_view(w, set(catalog)), "installed": w.id in installed_ids} for w in catalog.values()
        ],
        "next_cursor": None,
    }


@router.post(
    "/v1/numbers/<pnid>/workflows",
    summary="Install a shipped workflow or your own definition",
    description="Installing an id that is installed replaces its definition.",
    tags=TAGS,
)
def install_workflow(pnid: PnidPath, body: InstallBody, caller: Admin) -> Response[Any]:
    catalog = workflows.shipped()
    if body.name is not None:
        if body.name not in catalog:
            raise ApiError(404, "not_found", "no shipped workflow of that name")
        workflow = workflows.install(pnid, catalog[body.name])
    else:
        try:
            workflow = workflows.install(pnid, body.definition or {})
        except ValidationError as exc:
            fields = validation_fields(list(exc.errors()))
            for field in fields:
                field["field"] = f"definition.{field['field']}"
            raise ApiError(
                400, "invalid_request", "the workflow definition is invalid", fields
            ) from exc
    return _json(201, _view(workflow, set(catalog)))


def _toggle(pnid: str, workflow_id: str, enabled: bool) -> dict[str, Any]:
    workflow = workflows.set_enabled(pnid, workflow_id, enabled)
    if workflow is None:
        raise ApiError(404, "not_found", "no such workflow installed on this number")
    return _view(workflow, set(workflows.shipped()))


@router.post(
    "/v1/numbers/<pnid>/workflows/<workflow_id>/enable",
    summary="Enable an installed workflow",
    tags=TAGS,
)
def enable_workflow(pnid: PnidPath, workflow_id: WorkflowPath, caller: Admin) -> dict[str, Any]:
    return _toggle(pnid, workflow_id, True)


@router.post(
    "/v1/numbers/<pnid>/workflows/<workflow_id>/disable",
    summary="Disable an installed workflow (events no longer start it)",
    tags=TAGS,
)
def disable_workflow(pnid: PnidPath, workflow_id: WorkflowPath, caller: Admin) -> dict[str, Any]:
    return _toggle(pnid, workflow_id, False)


@router.post(
    "/v1/events",
    summary="Post a business event to the stack's bus",
    description="202 once EventBridge took it; workflows whose `on` or `cancel_on` is the "
    "detail_type run for detail.phone_number_id.",
    tags=TAGS,
)
def post_event(body: EventBody, caller: Admin) -> Response[Any]:
    pnid = body.detail.get("phone_number_id")
    if not isinstance(pnid, str | int) or isinstance(pnid, bool) or not str(pnid).isdigit():
        raise ApiError(
            400,
            "invalid_request",
            "detail.phone_number_id is required (digits)",
            [{"field": "detail.phone_number_id", "problem": "missing", "message": "digits"}],
        )
    if not body.source.startswith(workflows.source_prefix()):
        raise ApiError(
            400,
            "invalid_request",
            f"source must start with {workflows.source_prefix()!r}",
            [{"field": "source", "problem": "prefix", "message": "wrong prefix"}],
        )
    event_id = workflows.publish_event(body.source, body.detail_type, body.detail)
    return _json(202, {"event_id": event_id, "status": "accepted"})
