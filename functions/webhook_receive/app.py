"""WebhookReceive: checks Meta's signature and queues every item (POST /webhook).

The function serves one route, so it reads the HTTP API (payload 2.0) event itself
instead of importing Powertools' event handler, which alone costs ~100 ms of cold
start; Meta expects a median answer <= 250 ms (docs/meta/webhooks.md#delivery).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.errors import InputError
from wacloud.inbound.receive import ReceiveResult, receive_webhook
from wacloud.inbound.tenancy import WebhookApps
from wacloud.infra.config import settings
from wacloud.infra.credentials import MetaCredentials, load_credentials
from wacloud.infra.queues import park_webhook, send_bodies

logger = Logger()
metrics = Metrics()

# Refusals listed in one log line at most (the count is always complete).
_LOGGED_REFUSALS = 10


class BadRequestError(InputError, ValueError):
    """The HTTP request itself cannot be read (before any signature check)."""


def _enqueue(bodies: list[str]) -> None:
    cfg = settings()
    send_bodies(
        cfg.require(cfg.inbound_queue_url, "INBOUND_QUEUE_URL"), bodies, bucket=cfg.media_bucket
    )


def _park(body: bytes) -> str:
    return park_webhook(body, settings().media_bucket)


_apps: tuple[MetaCredentials, WebhookApps] | None = None


def _webhook_apps() -> WebhookApps:
    """The secret's apps, rebuilt only when the (cached, rotating) secret changes."""
    global _apps
    credentials = load_credentials()
    if _apps is None or _apps[0] != credentials:
        _apps = (credentials, WebhookApps.from_credentials(credentials))
    return _apps[1]


def _response(status: int, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "text/plain"}, "body": message}


def _read_request(event: dict[str, Any]) -> tuple[bytes, str | None]:
    """The exact bytes Meta sent and the signature header, or ``BadRequestError``.

    API Gateway base64-encodes bodies it considers binary; a body that does not
    decode, or text that is not encodable (a lone surrogate), cannot be what Meta
    signed. The error message names the problem only, never the content.
    """
    raw = event.get("body") or ""
    headers = event.get("headers") or {}
    if not isinstance(raw, str) or not isinstance(headers, dict):
        raise BadRequestError("event body or headers of an unexpected type")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw)
        except (binascii.Error, ValueError):
            raise BadRequestError("body is not valid base64") from None
    else:
        try:
            body = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequestError("body is not encodable text (lone surrogate)") from None
    signature = headers.get("x-hub-signature-256")
    if signature is not None and not isinstance(signature, str):
        raise BadRequestError("signature header of an unexpected type")
    return body, signature


def handle(event: dict[str, Any]) -> dict[str, Any]:
    try:
        body, signature = _read_request(event)
    except BadRequestError as error:
        logger.warning("webhook request unreadable", extra={"status": 400, "reason": str(error)})
        metrics.add_metric(name="WebhookRefused400", unit=MetricUnit.Count, value=1)
        return _response(400, str(error))
    try:
        result = receive_webhook(body, signature, _webhook_apps(), _enqueue, _park)
    except Exception:
        # Answering non-200 makes Meta retry (for up to 7 days, docs/meta/webhooks.md#delivery), so
        # nothing we could not queue is lost; the retry's duplicates are absorbed downstream.
        logger.exception("webhook could not be queued", extra={"bytes": len(body)})
        metrics.add_metric(name="WebhookQueueFailed", unit=MetricUnit.Count, value=1)
        return _response(500, "retry later")
    if result.status != 200:
        logger.warning(
            "webhook refused",
            extra={"status": result.status, "reason": result.message, "bytes": len(body)},
        )
        metrics.add_metric(name=f"WebhookRefused{result.status}", unit=MetricUnit.Count, value=1)
        return _response(result.status, result.message)
    _report(result, len(body))
    return _response(result.status, result.message)


def _report(result: ReceiveResult, size: int) -> None:
    """Log and count what a 200 did: queued, refused for their tenant, or parked."""
    if result.parked is not None:
        logger.error(
            "signed webhook parked unread",
            extra={"reason": result.parked, "bytes": size, "s3_key": result.parked_at},
        )
        metrics.add_metric(name="WebhookParked", unit=MetricUnit.Count, value=1)
        return
    if result.refused:
        logger.error(
            "webhook items refused: not the signing app's number or WABA",
            extra={
                "refused_items": len(result.refused),
                "queued_items": result.items,
                "refusals": [r.as_log() for r in result.refused[:_LOGGED_REFUSALS]],
            },
        )
        metrics.add_metric(
            name="WebhookItemsRefusedTenant", unit=MetricUnit.Count, value=len(result.refused)
        )
    metrics.add_metric(name="WebhookItemsQueued", unit=MetricUnit.Count, value=result.items)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event)
