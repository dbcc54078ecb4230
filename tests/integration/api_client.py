"""The operator API as tests call it: `api("agent").post("/v1/...", json=...)`.

Requests go over HTTP through the local gateway with a real Cognito access token of
a user in the role's group (moto's Cognito, checked by the gateway's JWT authorizer,
local/operator_auth.py), exactly as the CLI and apps send them. `api(None)` sends no
token; `api("viewer")` is a user in no group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from local.stack import LocalStack


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
    def __init__(
        self, stack: LocalStack, role: str | None, user: str, token: str | None = None
    ) -> None:
        self.stack, self.role, self.user = stack, role, user
        self._token = token

    def token(self) -> str | None:
        if self._token is not None:
            return self._token
        if self.role is None:
            return None
        assert self.stack.operator_auth is not None
        role = self.role if self.role in ("admin", "agent") else None
        return self.stack.operator_auth.user_token(role, self.user)

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
        assert self.stack.gateway is not None
        all_headers = {"content-type": "application/json", **(headers or {})}
        token = self.token()
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        body = (
            content
            if content is not None
            else (json.dumps(json_body) if json_body is not None else None)
        )
        response = httpx.request(
            method,
            f"{self.stack.gateway.url}{path}",
            params={k: v for k, v in (params or {}).items() if v is not None},
            content=body,
            headers=all_headers,
            timeout=60,
        )
        return ApiResponse(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.text,
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
    """`api("admin")`, `api("agent", user="ana")`, `api(None)` (no token),
    `api(token="...")` (a token of your own, e.g. a machine client's)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def __call__(
        self, role: str | None = "admin", user: str | None = None, token: str | None = None
    ) -> ApiSession:
        return ApiSession(self.stack, role, user or f"{role or 'anon'}-user", token)
