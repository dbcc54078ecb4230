"""Calling the operator API's app in-process (unit tests): events as API Gateway builds them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

ROLES = {
    "admin": {"sub": "sub-admin", "username": "root", "cognito:groups": "[admin]"},
    "agent": {"sub": "sub-ana", "username": "ana", "cognito:groups": "[agent]"},
    "viewer": {"sub": "sub-viewer", "username": "vi", "cognito:groups": "[]"},
}


def call(
    method: str,
    path: str,
    role: str | None = "admin",
    body: Any = None,
    params: dict[str, Any] | None = None,
    raw_body: str | None = None,
) -> tuple[int, Any]:
    from wacloud.api.app import handle

    context: dict[str, Any] = {
        "requestId": "req-1",
        "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
        "routeKey": "$default",
        "stage": "$default",
    }
    if role is not None:
        context["authorizer"] = {"jwt": {"claims": ROLES[role], "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(params or {}),
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if params:
        event["queryStringParameters"] = {k: str(v) for k, v in params.items()}
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    result = handle(event, None)
    text = result.get("body") or ""
    return int(result["statusCode"]), json.loads(text) if text else None
