"""The operator API's core: roles from claims, refusals as JSON, the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wacloud.api.auth import Role, roles_from_claims


def http_event(
    method: str, path: str, claims: dict[str, Any] | None, body: Any = None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "requestId": "req-1",
        "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
        "routeKey": "$default",
        "stage": "$default",
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = json.dumps(body)
    return event


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"cognito:groups": "[admin]"}, {Role.ADMIN, Role.AGENT}),
        ({"cognito:groups": "[agent other]"}, {Role.AGENT}),
        ({"cognito:groups": ["agent"]}, {Role.AGENT}),
        ({"scope": "wacloud/agent"}, {Role.AGENT}),
        ({"scope": "wacloud/admin openid"}, {Role.ADMIN, Role.AGENT}),
        ({"scope": "aws.cognito.signin.user.admin"}, set()),
        ({"cognito:groups": "[administrators]"}, set()),
        ({}, set()),
    ],
)
def test_roles_come_from_groups_or_wacloud_scopes(claims: dict[str, Any], roles: set[Role]) -> None:
    assert roles_from_claims(claims) == roles


def _call(claims: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
    from wacloud.api.app import handle

    result = handle(http_event("GET", "/v1/openapi.json", claims), None)
    return int(result["statusCode"]), json.loads(result["body"])


def test_no_claims_is_401_and_wrong_role_is_403_as_json() -> None:
    status, body = _call(None)
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    status, body = _call({"sub": "u1", "username": "x", "cognito:groups": "[viewers]"})
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert body["request_id"] == "req-1"


def test_the_openapi_document_is_served_and_names_the_bearer_scheme() -> None:
    status, body = _call({"sub": "u1", "username": "ana", "cognito:groups": "[agent]"})
    assert status == 200
    assert body["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"
    # The caller is injected, never a query parameter of the document.
    assert "parameters" not in body["paths"]["/v1/openapi.json"]["get"]


def test_the_committed_openapi_document_is_current() -> None:
    """schema/operator-api.json is what the routes describe (`make schema` rewrites it)."""
    from pathlib import Path

    from wacloud.api.app import ROUTERS, include, openapi_document

    app = include(*ROUTERS)
    committed = Path(__file__).resolve().parents[2] / "schema" / "operator-api.json"
    current = json.loads(openapi_document(app))
    assert committed.is_file(), "run `make schema`"
    assert json.loads(committed.read_text()) == current, (
        "schema/operator-api.json is stale: run `make schema`"
    )


def test_every_route_checks_a_role() -> None:
    """Behind the gateway's token check, every handler also asks for a role (`Agent` or
    `Admin`): a route added without one would serve any valid token of the pool."""
    import inspect
    import typing

    from wacloud.api.app import ROUTERS, include
    from wacloud.api.auth import require_admin, require_agent

    app = include(*ROUTERS)
    checked = {require_agent, require_admin}
    routes = [*app._static_routes, *app._dynamic_routes]
    assert len(routes) > 40
    for route in routes:
        hints = typing.get_type_hints(route.func, include_extras=True)
        dependencies = {
            meta.dependency
            for name in inspect.signature(route.func).parameters
            for meta in getattr(hints.get(name), "__metadata__", ())
            if hasattr(meta, "dependency")
        }
        assert dependencies & checked, f"{route.method} {route.path} checks no role"


def test_each_path_loads_the_module_that_serves_it() -> None:
    """`resource_of` (which router a cold start loads) agrees with where each route is
    defined, so a new route in a new place cannot be missed at request time."""
    import importlib

    from wacloud.api.app import ROUTERS, resource_of

    for name in ROUTERS:
        router = importlib.import_module(f"wacloud.api.routes.{name}").router
        for rule, *_ in router._routes:
            concrete = rule.replace("<", "x").replace(">", "x")
            assert resource_of(concrete) == name, (rule, name)
    assert resource_of("/v1/openapi.json") is None
    assert resource_of("/v1/numbers/1/unknown") is None
