"""WorkflowTrigger: business events from EventBridge start and cancel workflows.

Events arrive from the stack's own bus (BusinessEventBus), with a `source` under the
configured prefix, and name the tenant in `detail.phone_number_id`; the tenant's
workflow definitions (data, see wacloud/workflows) decide what is sent now and what is
scheduled. EventBridge invokes this asynchronously: an exception here is retried by
Lambda and then kept in the on-failure destination (WorkflowFailedEventQueue), so an
event of a bad shape is raised, never dropped. Steps that fail are kept as failure
records (wacloud/workflows/failures.py) and counted in `WorkflowStepFailed`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.infra.queues import submit_many
from wacloud.workflows import InvalidEventError, handle_event

logger = Logger()
metrics = Metrics()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        report = handle_event(event, submit_many)
    except InvalidEventError as exc:
        # The message names the field, never its value; the event itself goes to the
        # on-failure destination with this error.
        metrics.add_metric(name="WorkflowEventInvalid", unit=MetricUnit.Count, value=1)
        event_id = event.get("id") if isinstance(event, dict) else None
        logger.error("business event refused", extra={"event_id": event_id, "reason": str(exc)})
        raise
    metrics.add_metric(name="WorkflowQueued", unit=MetricUnit.Count, value=report.queued)
    metrics.add_metric(name="WorkflowScheduled", unit=MetricUnit.Count, value=report.scheduled)
    metrics.add_metric(
        name="WorkflowCancelledMessages", unit=MetricUnit.Count, value=report.cancelled_messages
    )
    metrics.add_metric(name="WorkflowStepFailed", unit=MetricUnit.Count, value=report.failed_steps)
    metrics.add_metric(
        name="WorkflowEventIncomplete", unit=MetricUnit.Count, value=report.incomplete
    )
    result = report.as_dict()
    logger.info(
        "workflow event",
        extra={"event_id": event.get("id"), "detail_type": event.get("detail-type"), **result},
    )
    return result
