"""WebhookReceive: checks Meta's signature and queues every item (POST /webhook)."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from wacloud.config import settings
from wacloud.credentials import load_credentials
from wacloud.queues import send_bodies
from wacloud.receive import receive_webhook

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()


def _enqueue(bodies: list[str]) -> None:
    cfg = settings()
    send_bodies(
        cfg.require(cfg.inbound_queue_url, "INBOUND_QUEUE_URL"), bodies, bucket=cfg.media_bucket
    )


@app.post("/webhook")
def receive() -> Response[str]:
    event = app.current_event
    raw = event.body or ""
    # Verify over the exact bytes Meta sent: decode base64 if API Gateway encoded them.
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")
    result = receive_webhook(
        body, event.headers.get("x-hub-signature-256"), load_credentials().app_secrets(), _enqueue
    )
    if result.status != 200:
        logger.warning(
            "webhook refused",
            extra={"status": result.status, "reason": result.message, "bytes": len(body)},
        )
        metrics.add_metric(name=f"WebhookRefused{result.status}", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="WebhookItemsQueued", unit=MetricUnit.Count, value=result.items)
    return Response(result.status, content_types.TEXT_PLAIN, result.message)


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response[str]:
    # Answering non-200 makes Meta retry, so nothing we could not queue is lost.
    logger.exception("webhook could not be queued")
    return Response(500, content_types.TEXT_PLAIN, "retry later")


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
