"""What a business event could not do, kept rather than dropped (docs/campaigns.md).

Three outcomes, chosen so nothing is lost silently:

* The event has a bad shape (not an object, no `detail-type`, `detail` not an object,
  no numeric `detail.phone_number_id`): nothing can run, so `InvalidEventError` is
  raised. EventBridge invokes the function asynchronously; after Lambda's retries the
  event lands in the on-failure destination (WorkflowFailedEventQueue), where it can
  be read, fixed and put back on the bus.
* A workflow the event starts or cancels finds no correlation key or no recipient in
  it, or a step of it fails to render or to validate as a submission: a failure record
  in the state table (below), a log line with masked ids and a metric. The rest of the
  event still runs.

Records hold ids and error locations and types only: never a phone number (masked),
never message text or a rendered value, so they are safe to keep and to show.
`{pnid}#WFFAIL` / `{workflow_id}#{event_id}#{step_id}#{message_id}`: one per event,
workflow, step and recipient, so EventBridge's redelivery rewrites rather than adds.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from wacloud.errors import InputError
from wacloud.infra.clock import now
from wacloud.infra.privacy import is_validation_error, mask_phone
from wacloud.store import workflow_failures as kept
from wacloud.templates import RenderError

logger = Logger(child=True)

MAX_ERRORS = 20
MAX_REASON_CHARS = 120


class InvalidEventError(InputError, ValueError):
    """The event cannot be processed at all. Its message names fields, never values."""


def describe(exc: Exception) -> dict[str, Any]:
    """A PII-free account of why a step failed: the error's type and, for validation
    errors, each error's location and type (pydantic's `input` and message, which
    quote the customer's data, are left out)."""
    if is_validation_error(exc):
        errors = [
            {"loc": ".".join(str(part) for part in error["loc"]), "type": error["type"]}
            for error in exc.errors(include_url=False, include_input=False)
        ][:MAX_ERRORS]
        return {"error_type": "ValidationError", "errors": errors}
    if isinstance(exc, RenderError):
        # Render messages name a path or format of the definition; the two about a
        # bad time quote the value after ": ", which is cut off.
        reason = str(exc).split(": ", 1)[0][:MAX_REASON_CHARS]
        return {"error_type": "RenderError", "reason": reason}
    return {"error_type": type(exc).__name__}


def summary(description: dict[str, Any]) -> str:
    """One line for a report note: the reason, or the error locations and types."""
    if "reason" in description:
        return str(description["reason"])
    errors = description.get("errors")
    if errors:
        return "invalid " + ", ".join(f"{e['loc']} ({e['type']})" for e in errors)
    return str(description["error_type"])


def record(
    phone_number_id: str,
    *,
    workflow_id: str,
    event: dict[str, Any],
    description: dict[str, Any],
    step_id: str = "-",
    wa_id: str | None = None,
    message_id: str = "-",
) -> None:
    """Keep one failure (overwriting the same failure of a redelivered event)."""
    event_id = str(event.get("id") or "-")
    fields: dict[str, Any] = {
        "workflow_id": workflow_id,
        "step_id": step_id,
        "event_id": event_id,
        "detail_type": str(event.get("detail-type", ""))[:MAX_REASON_CHARS],
        "source": str(event.get("source", ""))[:MAX_REASON_CHARS],
        "message_id": message_id,
        "at": now(),
        **description,
    }
    if wa_id:
        fields["recipient"] = mask_phone(wa_id)
    item = kept.keep(phone_number_id, fields)
    logger.warning(
        "workflow step failed" if step_id != "-" else "workflow could not run for event",
        extra={
            "phone_number_id": phone_number_id,
            "workflow_id": workflow_id,
            "step_id": step_id,
            "event_id": event_id,
            "message_id": message_id,
            "recipient": item.get("recipient", ""),
            **description,
        },
    )
