"""WorkflowTrigger: business events from EventBridge start and cancel workflows.

Events name the tenant in `detail.phone_number_id`; the tenant's workflow definitions
(data, see wacloud/workflows) decide what is sent now and what is scheduled.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.queues import submit_many
from wacloud.workflows import handle_event

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = handle_event(event, submit_many)
    metrics.add_metric(name="WorkflowQueued", unit=MetricUnit.Count, value=report.queued)
    metrics.add_metric(name="WorkflowScheduled", unit=MetricUnit.Count, value=report.scheduled)
    metrics.add_metric(
        name="WorkflowCancelledMessages", unit=MetricUnit.Count, value=report.cancelled_messages
    )
    result = report.as_dict()
    logger.info("workflow event", extra={"detail_type": event.get("detail-type"), **result})
    return result
