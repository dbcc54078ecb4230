"""The operator API as tests call it: `api("agent").post("/v1/...", json=...)`.

Requests go over HTTP through the local gateway with a real Cognito token for a
user in the role's group (local/operator_auth.py), exactly as the CLI and apps do.
Until the authorizer is wired (issue #13, lead), requests are handed to the
OperatorApiFunction directly with the claims API Gateway would pass: the same
function, the same process environment, only the gateway's token check skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from local.stack import LocalStack

FUNCTION = "OperatorApiFunction"


@dataclass
class ApiResponse:
    status_code: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    @property
    def error_code(self) -> str | None:
        body = self.json()
        return body.get("error", {}).get("code") if isinstance(body, dict) else None


class ApiSession:
    def __init__(self, stack: LocalStack, role: str | None, user: str) -> None:
        self.stack, self.role, self.user = stack, role, user

    def claims(self) -> dict[str, Any] | None:
        if self.role is None:
            return None
        return {
            "sub": f"sub-{self.user}",
            "username": self.user,
            "token_use": "access",
            "cognito:groups": f"[{self.role}]" if self.role in ("admin", "agent") else "[]",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: str | None = None,
    ) -> ApiResponse:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        body = (
            content
            if content is not None
            else (json.dumps(json_body) if json_body is not None else None)
        )
        all_headers = {"content-type": "application/json", **(headers or {})}
        context: dict[str, Any] = {
            "accountId": "123456789012",
            "apiId": "localoperator",
            "requestId": f"req-{id(self)}",
            "routeKey": "ANY /v1/{proxy+}",
            "stage": "$default",
            "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
        }
        claims = self.claims()
        if claims is not None:
            context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "ANY /v1/{proxy+}",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {k.lower(): v for k, v in all_headers.items()},
            "requestContext": context,
            "pathParameters": {"proxy": path.removeprefix("/v1/")},
            "isBase64Encoded": False,
        }
        if params:
            event["queryStringParameters"] = {k: str(v) for k, v in params.items() if v is not None}
        if body is not None:
            event["body"] = body
        outcome = self.stack.functions[FUNCTION].invoke(event)
        if not outcome.ok:
            return ApiResponse(500, {}, json.dumps({"message": "Internal Server Error"}))
        result = outcome.payload
        return ApiResponse(
            int(result["statusCode"]),
            {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()},
            str(result.get("body") or ""),
        )

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", path, json_body=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PUT", path, json_body=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PATCH", path, json_body=json, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)


class Api:
    """`api("admin")`, `api("agent", user="ana")`, `api(None)` (no token)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def __call__(self, role: str | None = "admin", user: str | None = None) -> ApiSession:
        return ApiSession(self.stack, role, user or f"{role or 'anon'}-user")
