"""A test Lambda: fails the items whose body starts with "fail", crashes on "crash";
an EventBridge event fails when its detail says so, else it is echoed."""

from __future__ import annotations

import json
import os
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "detail-type" in event:
        if event["detail"].get("fail"):
            raise ValueError("asked to fail")
        return {"seen": event["id"]}
    if "Records" not in event:  # an API Gateway event: echo what we were given
        seen = {k: event.get(k) for k in ("body", "isBase64Encoded", "queryStringParameters")}
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(seen),
        }
    failures = []
    for record in event["Records"]:
        if record["body"].startswith("crash"):
            os._exit(3)
        if record["body"].startswith("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
