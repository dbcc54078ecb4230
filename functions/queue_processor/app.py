"""QueueProcessor: every minute, releases scheduled messages that fell due (EventBridge)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from wacloud.config import settings
from wacloud.queues import send_bodies
from wacloud.scheduling import release_due

logger = Logger()
metrics = Metrics()


def _enqueue(bodies: list[str]) -> None:
    cfg = settings()
    send_bodies(cfg.require(cfg.outbound_queue_url, "OUTBOUND_QUEUE_URL"), bodies)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    released = release_due(_enqueue)
    metrics.add_metric(name="ScheduledReleased", unit=MetricUnit.Count, value=released)
    logger.info("queue processor run", extra={"released": released})
    return {"released": released}
