"""The operator API's operations resource (docs/operator-api.md): queue depths, and a
dead-letter queue's messages peeked and redriven, and the health report
(wacloud.operations)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from wacloud import operations
from wacloud.api.auth import Admin

router = APIGatewayHttpRouter()
TAGS = ["operations"]
QUEUE = Annotated[
    str, Path(description="A queue's name in /v1/ops/queues", pattern=r"^[A-Za-z0-9_-]{1,80}$")
]


class Queue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    url: str
    visible: int
    in_flight: int
    delayed: int
    dead_letter: bool
    dead_letter_of: list[str] = Field(description="The queues whose failures land here")


class QueueList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Queue]


class Peeked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str
    sent_at: float
    receive_count: int
    size: int
    body: str


class PeekList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Peeked]


class Redrive(BaseModel):
    model_config = ConfigDict(extra="allow")

    task_handle: str | None
    status: str | None


@router.get("/v1/ops/queues", summary="Every queue's depth", tags=TAGS)
def list_queues(caller: Admin) -> QueueList:
    return QueueList(items=[Queue(**q.as_dict()) for q in operations.depths()])


@router.get(
    "/v1/ops/dlqs/<name>/messages",
    summary="Peek at a dead-letter queue's messages without consuming them",
    description="Received with a visibility timeout of 0: every message stays in the "
    "queue, visible; each peek adds one to its receive count (harmless on a DLQ). "
    "Bodies may hold customers' data: treat the answer accordingly.",
    tags=TAGS,
)
def peek_dlq(
    name: QUEUE,
    caller: Admin,
    max: Annotated[int, Query(ge=1, le=operations.PEEK_MAX)] = operations.PEEK_MAX,
) -> PeekList:
    return PeekList(items=[Peeked(**m) for m in operations.peek(name, max)])


@router.post(
    "/v1/ops/dlqs/<name>/redrive",
    summary="Move a dead-letter queue's messages back to their queue",
    description="SQS StartMessageMoveTask. Fix what made them fail first. 409 when a "
    "move already runs or the DLQ has no source queue.",
    tags=TAGS,
    responses={
        202: {"description": "Started", "content": {"application/json": {"model": Redrive}}}
    },
)
def redrive_dlq(name: QUEUE, caller: Admin) -> Response[Any]:
    started = operations.start_redrive(name)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=started)


@router.get(
    "/v1/ops/dlqs/<name>/redrive",
    summary="The latest redrive of a dead-letter queue",
    description="`status`: RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED, with the "
    "messages moved; `status: null` when none was ever started.",
    tags=TAGS,
)
def latest_redrive(name: QUEUE, caller: Admin) -> Redrive:
    task = operations.latest_redrive(name)
    return Redrive(**task) if task else Redrive(task_handle=None, status=None)


class HealthCheck(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(description="last_webhook, webhook_refusals, meta_token or backlogs")
    status: Literal["ok", "warn", "fail"]
    detail: str
    phone_number_id: str | None = Field(
        default=None, description="The number a per-number check is about"
    )


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "degraded"] = Field(description="ok only when every check is ok")
    checked_at: float
    checks: list[HealthCheck]


@router.get(
    "/v1/ops/health",
    summary="The stack's health: webhooks, refusals, Meta tokens, backlogs",
    description="Checks, each ok, warn or fail with a detail and its figures: "
    "`last_webhook` (per number; warn when older than HEALTH_WEBHOOK_MAX_AGE_SECONDS or "
    "never), `webhook_refusals` (WebhookReceive's refusals in the last 24 h from its "
    "CloudWatch metrics; warn when any), `meta_token` (per number, one Graph call with "
    "its token, kept a minute; fail on 190), `backlogs` (fail when a dead-letter queue "
    "holds messages; warn on a deep or old queue). `status` is ok only when every check "
    "is ok, else degraded. `phone_number_id` limits the per-number checks to one number "
    "(404 when it is not configured).",
    tags=TAGS,
)
def health(
    caller: Admin,
    phone_number_id: Annotated[
        str | None, Query(description="Only this number's checks", pattern=r"^\d{1,30}$")
    ] = None,
) -> Health:
    return Health(**operations.report(phone_number_id))
