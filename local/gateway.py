"""A local HTTP API (API Gateway v2): requests become payload-format-2.0 events.

The event carries what API Gateway would send: lower-cased headers, comma-joined
repeated query values, the raw body (base64 for non-text content), request context;
the handler's response is turned back into HTTP the way API Gateway does it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local.lambdas import LocalFunction
from local.operator_auth import JwtAuthorizer

DEFAULT_ROUTE = "$default"
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")


class _Handler(WSGIRequestHandler):
    # Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold small responses for
    # up to 40 ms; API Gateway adds nothing like that.
    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return  # the handlers log what matters


@dataclass(frozen=True)
class Route:
    method: str
    """An HTTP method, or ANY."""
    path: str
    """As in the template: ``/webhook``, ``/v1/{proxy+}``, ``/items/{id}``, or
    ``$default`` (what no other route takes)."""
    function: LocalFunction
    authorizer: JwtAuthorizer | None = None
    """The route's JWT authorizer (its API's default), or None for an open route."""

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if this route takes the request, else None."""
        if self.method not in ("ANY", method):
            return None
        if self.path == DEFAULT_ROUTE:
            return {}
        found = _pattern(self.path).fullmatch(path)
        return None if found is None else found.groupdict()

    @property
    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers exact paths, then fewer and later variables, then a
        route's own method over ANY; $default comes last."""
        if self.path == DEFAULT_ROUTE:
            return (2, 0, 0)
        greedy = "+}" in self.path
        return (1 if greedy else 0, -len(self.path), 1 if self.method == "ANY" else 0)


def _pattern(path: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("+}"):
            parts.append(f"(?P<{_group(piece[1:-2])}>.+)")
        elif piece.startswith("{") and piece.endswith("}"):
            parts.append(f"(?P<{_group(piece[1:-1])}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def build_event(request: Request, route_key: str, api_id: str) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    content_type = request.headers.get("content-type", "")
    is_text = not raw or content_type.startswith(_TEXT_TYPES)
    body: str | None
    if not raw:
        body = None
    elif is_text:
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, is_text = base64.b64encode(raw).decode(), False
    else:
        body = base64.b64encode(raw).decode()
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {k: ",".join(v) for k, v in request.args.lists()}
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode(),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("user-agent", ""),
            },
        },
        "isBase64Encoded": not is_text,
    }
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


def to_response(result: Any) -> Response:
    """Map a handler result to HTTP as API Gateway's payload format 2.0 does."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps(result), status=200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(result["statusCode"]))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


class LocalHttpApi:
    def __init__(
        self, routes: list[Route], host: str = "127.0.0.1", port: int = 0, api_id: str = "localapi"
    ) -> None:
        self._routes = {(r.method.upper(), r.path): r for r in routes}
        self._ordered: list[Route] = []
        self._api_id = api_id
        self._server: BaseWSGIServer = make_server(
            host, port, self._wsgi, threaded=True, request_handler=_Handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="local-http-api"
        )

    def set_routes(self, routes: list[Route]) -> None:
        self._routes = {(r.method.upper(), r.path): r for r in routes}
        self._ordered = sorted(routes, key=lambda r: r.specificity)

    def _find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        exact = self._routes.get((method, path))
        if exact is not None:
            return exact, {}
        for route in self._ordered:
            parameters = route.match(method, path)
            if parameters is not None:
                return route, parameters
        return None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        found = self._find(request.method, request.path)
        if found is None:
            response = Response(
                '{"message":"Not Found"}', status=404, content_type="application/json"
            )
            return response(environ, start_response)
        route, parameters = found
        claims: dict[str, str] | None = None
        if route.authorizer is not None:
            claims = route.authorizer.claims(request.headers.get("authorization"))
            if claims is None:
                # API Gateway's answer; the function is never invoked.
                response = Response(
                    '{"message":"Unauthorized"}',
                    status=401,
                    content_type="application/json",
                    headers={"www-authenticate": 'Bearer error="invalid_token"'},
                )
                return response(environ, start_response)
        route_key = DEFAULT_ROUTE if route.path == DEFAULT_ROUTE else f"{route.method} {route.path}"
        event = build_event(request, route_key, self._api_id)
        if parameters:
            event["pathParameters"] = parameters
        if claims is not None:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        outcome = route.function.invoke(event)
        if not outcome.ok:
            # What API Gateway answers when the integration fails.
            response = Response(
                '{"message":"Internal Server Error"}', status=500, content_type="application/json"
            )
        else:
            response = to_response(outcome.payload)
        return response(environ, start_response)
