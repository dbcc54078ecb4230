"""The operator API's messages resource (docs/operator-api.md): send, schedule, look up,
cancel.

``POST /v1/messages`` takes a submission exactly as the outbound queue does
(schema/submission.schema.json), validates it with the same model first (400 naming the
fields, nothing queued), then:

* ``send_at`` more than a minute ahead: the record is written ``scheduled`` here (what the
  sender would write for it, built by the store), so it can be cancelled at once;
* otherwise: the submission is queued, then recorded ``accepted`` (the sender's claim
  takes an accepted record like a new one). Queued first: when the queue refuses,
  nothing is recorded; when the record fails after queueing, the sender records it.

The message id is the sender's (number + idempotency key), so the same key again is the
same message: answered with its current status, queued again only while it is still
``accepted`` (the sender's claim sends it once however often it is queued).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wacloud.api.auth import Admin, Agent
from wacloud.api.errors import ApiError, validation_fields
from wacloud.infra.clock import now
from wacloud.infra.queues import submit
from wacloud.models.outbound.submission import SUBMISSION_MAX_BYTES, Submission
from wacloud.store import messages

router = APIGatewayHttpRouter()
TAGS = ["messages"]

PNID = Annotated[str, Path(description="The business phone number id", pattern=r"^[0-9]{1,32}$")]
MESSAGE_ID = Annotated[
    str, Path(description="Our message id (from POST /v1/messages)", max_length=64)
]


EXAMPLE = {
    "phone_number_id": "100000000000001",
    "to": "+15551234567",
    "type": "text",
    "text": {"body": "Your order shipped"},
    "idempotency_key": "order-1-shipped",
}


class Accepted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str
    phone_number_id: str
    status: str = Field(description="accepted | scheduled (or the current status of a repeat)")
    send_at: float | None = None


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str
    at: float | None


class MessageView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str
    phone_number_id: str
    status: str
    to: str | None = None
    type: str | None = None
    wamid: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    send_at: float | None = None
    campaign_id: str | None = None
    idempotency_key: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    error: dict[str, Any] | None = None


class Cancelled(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str
    status: str


def _epoch(value: Any) -> float | None:
    """A record's time (epoch number, or the ISO text history keeps) as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def view(item: dict[str, Any]) -> MessageView:
    history = [
        HistoryEntry(
            status=str(entry.get("state")),
            at=_epoch(entry.get("at")),
            **({"detail": entry["detail"]} if entry.get("detail") else {}),
        )
        for entry in item.get("history") or []
        if isinstance(entry, dict)
    ]
    error = item.get("error")
    return MessageView(
        message_id=str(item["message_id"]),
        phone_number_id=str(item["phone_number_id"]),
        status=str(item.get("state")),
        to=item.get("to"),
        type=item.get("type"),
        wamid=item.get("wamid"),
        created_at=_epoch(item.get("created_at")),
        updated_at=_epoch(item.get("updated_at")),
        send_at=_epoch(item.get("send_at")),
        campaign_id=item.get("campaign_id"),
        idempotency_key=item.get("idempotency_key"),
        history=history,
        error=error if isinstance(error, dict) else None,
    )


def validated(document: dict[str, Any]) -> Submission:
    """The sender's checks, before anything is queued: the size, text DynamoDB can store,
    then the Submission model. 400 naming each bad field (never its value)."""
    raw = router.current_event.decoded_body or ""
    if len(raw.encode("utf-8", "surrogatepass")) > SUBMISSION_MAX_BYTES:
        raise ApiError(
            413, "too_large", f"a submission may be at most {SUBMISSION_MAX_BYTES} bytes"
        )
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400,
            "invalid_request",
            "the submission contains a lone surrogate escape (not valid Unicode text)",
        ) from None
    try:
        return Submission.model_validate(document)
    except ValidationError as exc:
        raise ApiError(
            400,
            "invalid_request",
            "the submission has invalid or missing fields",
            validation_fields(list(exc.errors(include_input=False))),
        ) from None


def _answer(status: int, body: BaseModel) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump(mode="json", exclude_none=True),
    )


@router.post(
    "/v1/messages",
    summary="Send or schedule a message",
    description="The body is a submission (schema/submission.schema.json, docs/outbound.md). "
    "Validated first: a bad field is 400 naming it and nothing is queued. A `send_at` more "
    "than 60 s ahead schedules it. The same `idempotency_key` (per number) again is the "
    "same message: its id and current status are returned.",
    tags=TAGS,
    responses={
        202: {
            "description": "Accepted or scheduled",
            "content": {"application/json": {"model": Accepted}},
        }
    },
)
def send_message(
    document: Annotated[
        dict[str, Any],
        Body(
            description="An outbound submission: schema/submission.schema.json "
            "(its shape is too rich for OpenAPI 3.0, so it is published there)",
            examples=[EXAMPLE],
        ),
    ],
    caller: Admin,
) -> Response[Any]:
    submission = validated(document)
    pnid = submission.phone_number_id
    message_id = messages.message_id_for(pnid, submission.effective_idempotency_key())
    existing = messages.load(pnid, message_id)
    if existing is not None and existing.get("state") != messages.State.ACCEPTED:
        return _answer(202, _accepted(existing))
    body = json.dumps(document, separators=(",", ":"))
    fields = messages.outbound_fields(submission, body)
    due = submission.send_at.timestamp() if submission.send_at else None
    if due is not None and due > now() + messages.SCHEDULE_AHEAD_SECONDS:
        if not messages.schedule(pnid, message_id, fields, due, submission.priority):
            return _answer(202, _accepted(messages.load(pnid, message_id) or {}))
        return _answer(
            202,
            Accepted(
                message_id=message_id,
                phone_number_id=pnid,
                status=messages.State.SCHEDULED.value,
                send_at=due,
            ),
        )
    submit(document)
    if not messages.record_new(pnid, message_id, messages.State.ACCEPTED, fields):
        current = messages.load(pnid, message_id)
        if current is not None:
            return _answer(202, _accepted(current))
    return _answer(
        202,
        Accepted(
            message_id=message_id,
            phone_number_id=pnid,
            status=messages.State.ACCEPTED.value,
        ),
    )


def _accepted(item: dict[str, Any]) -> Accepted:
    return Accepted(
        message_id=str(item.get("message_id")),
        phone_number_id=str(item.get("phone_number_id")),
        status=str(item.get("state")),
        send_at=_epoch(item.get("send_at")),
    )


def _load(pnid: str, message_id: str) -> dict[str, Any]:
    item = messages.load(pnid, message_id)
    if item is None:
        raise ApiError(404, "not_found", "no such message on this number")
    return item


@router.get(
    "/v1/numbers/<pnid>/messages/<message_id>",
    summary="A message's status and history",
    description="Every state the message went through (docs/outbound.md, 'States'), with "
    "times as epoch seconds; `error` says why it was rejected, failed or cancelled.",
    tags=TAGS,
)
def show_message(pnid: PNID, message_id: MESSAGE_ID, caller: Agent) -> MessageView:
    return view(_load(pnid, message_id))


@router.delete(
    "/v1/numbers/<pnid>/messages/<message_id>",
    summary="Cancel a message that waits to be sent",
    description="A scheduled message (or one queued, deferred or retrying that no send "
    "attempt holds yet) becomes `cancelled`, final: it is never sent. 409 `not_scheduled` "
    "once a send attempt holds it or it is finished.",
    tags=TAGS,
)
def cancel_message(pnid: PNID, message_id: MESSAGE_ID, caller: Admin) -> Cancelled:
    _load(pnid, message_id)
    if not messages.cancel_waiting(pnid, message_id, f"cancelled by {caller.name}"):
        current = _load(pnid, message_id)
        if current.get("state") != messages.State.CANCELLED:
            raise ApiError(
                409,
                "not_scheduled",
                f"the message is {current.get('state')}: it can no longer be cancelled",
            )
    return Cancelled(message_id=message_id, status=messages.State.CANCELLED.value)
