"""WebhookVerify: answers Meta's subscription handshake (GET /webhook).

Deliberately tiny: Meta calls it rarely and a cold start is most of its cost, so it
imports nothing heavy at init (no Powertools event handler); reading the secret
(Powertools Parameters, boto3) is imported on the first call and cached after, and
Powertools Metrics only on the paths that count something.
"""

from __future__ import annotations

import json
from typing import Any

from wacloud.inbound.verification import (
    VerificationRequestError,
    hub_params,
    subscription_challenge,
)
from wacloud.infra.config import settings

SERVICE = settings().service_name or "webhook-verify"


def _log(level: str, message: str, **fields: Any) -> None:
    # One JSON line, the same shape Powertools Logger writes (CloudWatch Insights-friendly).
    print(json.dumps({"level": level, "message": message, "service": SERVICE, **fields}))


def _metric(name: str) -> None:
    """One count, written at once as an EMF line by Powertools (namespace as the stack's)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    namespace = settings().metrics_namespace
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=namespace) as metric:
        metric.add_dimension(name="service", value=SERVICE)


def _text(status: int, body: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "text/plain"},
        "body": body,
        "isBase64Encoded": False,
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    try:
        params = hub_params(event.get("queryStringParameters"))
    except VerificationRequestError as error:
        # The reason names the parameter only: its value may be someone's token.
        _log(
            "WARNING",
            "webhook verification request unreadable",
            status=400,
            reason=str(error),
            function_request_id=request_id,
        )
        _metric("WebhookVerifyRefused400")
        return _text(400, "Bad Request")
    try:
        from wacloud.infra.credentials import load_credentials

        challenge = subscription_challenge(params, load_credentials().verify_token)
    except Exception as error:  # the secret could not be read: Meta may try again
        _log(
            "ERROR",
            "webhook verification failed",
            error=type(error).__name__,
            function_request_id=request_id,
        )
        _metric("WebhookVerifyFailed")
        return _text(500, "Internal Server Error")
    if challenge is None:
        _log(
            "WARNING",
            "webhook verification refused",
            subscribe_mode=params.get("hub.mode") == "subscribe",
            token_offered=bool(params.get("hub.verify_token")),
            function_request_id=request_id,
        )
        _metric("WebhookVerifyRefused403")
        return _text(403, "Forbidden")
    _log("INFO", "webhook verified", function_request_id=request_id)
    return _text(200, challenge)
