"""WebhookReceive: checks Meta's signature and queues every item (POST /webhook).

The function serves one route, so it reads the HTTP API (payload 2.0) event itself
instead of importing Powertools' event handler, which alone costs ~100 ms of cold
start; Meta expects a median answer <= 250 ms (fact sheet §3.8).
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.config import settings
from wacloud.credentials import load_credentials
from wacloud.queues import send_bodies
from wacloud.receive import receive_webhook

logger = Logger()
metrics = Metrics()


def _enqueue(bodies: list[str]) -> None:
    cfg = settings()
    send_bodies(
        cfg.require(cfg.inbound_queue_url, "INBOUND_QUEUE_URL"), bodies, bucket=cfg.media_bucket
    )


def _response(status: int, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "text/plain"}, "body": message}


def handle(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("body") or ""
    # Verify over the exact bytes Meta sent: decode base64 if API Gateway encoded them.
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    headers = event.get("headers") or {}
    try:
        result = receive_webhook(
            body, headers.get("x-hub-signature-256"), load_credentials().app_secrets(), _enqueue
        )
    except Exception:
        # Answering non-200 makes Meta retry (for up to 7 days, §3.8), so nothing we
        # could not queue is lost; the retry's duplicates are absorbed downstream.
        logger.exception("webhook could not be queued", extra={"bytes": len(body)})
        metrics.add_metric(name="WebhookQueueFailed", unit=MetricUnit.Count, value=1)
        return _response(500, "retry later")
    if result.status != 200:
        logger.warning(
            "webhook refused",
            extra={"status": result.status, "reason": result.message, "bytes": len(body)},
        )
        metrics.add_metric(name=f"WebhookRefused{result.status}", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="WebhookItemsQueued", unit=MetricUnit.Count, value=result.items)
    return _response(result.status, result.message)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event)
