"""WebhookVerify: answers Meta's subscription handshake (GET /webhook).

Deliberately tiny: Meta calls it rarely and a cold start is most of its cost, so it
imports nothing heavy at init (no Powertools event handler); reading the secret
(Powertools Parameters, boto3) is imported on the first call and cached after.
"""

from __future__ import annotations

import json
import os
from typing import Any

from wacloud.verification import subscription_challenge

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "webhook-verify")


def _log(level: str, message: str, **fields: Any) -> None:
    # One JSON line, the same shape Powertools Logger writes (CloudWatch Insights-friendly).
    print(json.dumps({"level": level, "message": message, "service": SERVICE, **fields}))


def _text(status: int, body: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "text/plain"},
        "body": body,
        "isBase64Encoded": False,
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from wacloud.credentials import load_credentials

    params = event.get("queryStringParameters") or {}
    challenge = subscription_challenge(params, load_credentials().verify_token)
    request_id = getattr(context, "aws_request_id", None)
    if challenge is None:
        _log(
            "WARNING",
            "webhook verification refused",
            mode=params.get("hub.mode"),
            function_request_id=request_id,
        )
        return _text(403, "Forbidden")
    _log("INFO", "webhook verified", function_request_id=request_id)
    return _text(200, challenge)
