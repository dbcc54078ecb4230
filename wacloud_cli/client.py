"""The operator API over HTTP: one request, its token, and its answer or a CliError."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from wacloud_cli import __version__
from wacloud_cli.auth import TokenSource
from wacloud_cli.errors import CliError, ExitCode, from_response

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ApiClient:
    def __init__(self, base_url: str | None, tokens: TokenSource, http: httpx.Client) -> None:
        self.base_url, self.tokens, self.http = base_url, tokens, http

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        if not self.base_url:
            raise CliError(
                ExitCode.USAGE,
                "no API URL: pass --api-url to `wacloud login`, or set WACLOUD_API_URL",
                code="no_api_url",
            )
        token = self.tokens.token()
        response = self._send(method, path, params, json, token)
        if response.status_code == 401 and self.tokens.renewable:
            # Our clock said the token was good; the API disagrees. Renew once.
            response = self._send(method, path, params, json, self.tokens.token(force_renew=True))
        body = _body(response)
        if response.status_code >= 400:
            raise from_response(response.status_code, body)
        return body

    def _send(
        self, method: str, path: str, params: dict[str, Any] | None, body: Any, token: str
    ) -> httpx.Response:
        url = self.base_url.rstrip("/") + path if self.base_url else path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            return self.http.request(
                method,
                url,
                params=query,
                json=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "User-Agent": f"wacloud-cli/{__version__}",
                    "Accept": "application/json",
                },
            )
        except httpx.TimeoutException as exc:
            raise CliError(
                ExitCode.UNAVAILABLE, f"the API did not answer in time ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise CliError(
                ExitCode.UNAVAILABLE,
                f"cannot reach the API at {self.base_url} ({type(exc).__name__})",
                code="unreachable",
            ) from exc

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return self.request("POST", path, json={} if json is None else json, params=params)

    def put(self, path: str, json: Any) -> Any:
        return self.request("PUT", path, json=json)

    def patch(self, path: str, json: Any) -> Any:
        return self.request("PATCH", path, json=json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def pages(
        self, path: str, *, limit: int | None, cursor: str | None, **params: Any
    ) -> Iterator[Any]:
        """Each page of a list (`{"items", "next_cursor"}`), following next_cursor."""
        while True:
            page = self.get(path, limit=limit, cursor=cursor, **params)
            yield page
            cursor = page.get("next_cursor") if isinstance(page, dict) else None
            if not cursor:
                return


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if response.status_code >= 400:
            return {"message": response.text[:200]}
        raise CliError(
            ExitCode.UNAVAILABLE,
            f"the API answered HTTP {response.status_code} without JSON",
            status=response.status_code,
        ) from None
