"""The operator API application: one resolver, every resource's router, one error map.

Routes live in `wacloud.api.routes.<resource>` (one module per resource, each a
Powertools ``Router``); this module only assembles them. The OpenAPI document the
resolver derives from the route signatures is served at ``GET /v1/openapi.json``
(authenticated like every route) and written to ``schema/operator-api.json`` by
``make schema`` (a test fails when the committed copy is stale).

Routers are included on first use: a request loads only its resource's module (and
the features behind it), so a cold start pays for Powertools, pydantic and one
resource, not for all of them (`python -m bench coldstart`). One resolver holds them
all, because Powertools binds a router to the last resolver that included it. The
OpenAPI document, an unknown path and tests include every router.
"""

from __future__ import annotations

import importlib
import json
import threading
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from wacloud.api import errors
from wacloud.api.auth import Agent

TITLE = "wacloud operator API"
VERSION = "1"
#: The resource modules, in the OpenAPI document's order.
ROUTERS = (
    "me",
    "messages",
    "conversations",
    "media",
    "agents",
    "contacts",
    "templates",
    "campaigns",
    "workflows",
    "tenants",
    "operations",
    "reports",
)
#: Which module serves a path: by `/v1/{segment}`, or `/v1/numbers/{pnid}/{segment}`.
TOP_LEVEL = {
    "me": "me",
    "messages": "messages",
    "agents": "agents",
    "events": "workflows",
    "tenants": "tenants",
    "settings": "tenants",
    "ops": "operations",
}
PER_NUMBER = {
    "messages": "messages",
    "conversations": "conversations",
    "canned-responses": "conversations",
    "inbox-settings": "conversations",
    "media": "media",
    "contacts": "contacts",
    "templates": "templates",
    "campaigns": "campaigns",
    "workflows": "workflows",
    "reports": "reports",
}
SECURITY_SCHEMES: dict[str, Any] = {
    "cognito": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Cognito access token: a user's (groups admin / agent) or a machine "
        "client's (client credentials, scopes wacloud/admin / wacloud/agent).",
    }
}


def resource_of(path: str) -> str | None:
    """The module that serves `path`, or None (the document, or no such route)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "v1":
        return None
    if parts[2] == "numbers":
        return PER_NUMBER.get(parts[4]) if len(parts) > 4 else None
    return TOP_LEVEL.get(parts[2])


def build_app() -> APIGatewayHttpResolver:
    resolver = APIGatewayHttpResolver(enable_validation=True)
    errors.install(resolver)

    @resolver.get("/v1/openapi.json", summary="This API's OpenAPI document", tags=["meta"])
    def openapi_json(caller: Agent) -> dict[str, Any]:
        include(*ROUTERS)
        document: dict[str, Any] = json.loads(openapi_document(resolver))
        return document

    return resolver


app = build_app()
_included: set[str] = set()
_lock = threading.Lock()


def include(*names: str) -> APIGatewayHttpResolver:
    """Include these resources' routers in `app` (each once); returns `app`."""
    with _lock:
        for name in names:
            if name not in _included:
                module = importlib.import_module(f"wacloud.api.routes.{name}")
                app.include_router(module.router)
                _included.add(name)
    return app


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve one API Gateway event, loading only the router its path needs."""
    path = str(event.get("rawPath") or "")
    name = resource_of(path)
    if name is not None:
        include(name)
    elif path != "/v1/openapi.json":
        include(*ROUTERS)  # an unknown path: every route is tried, then 404 no_route
    return app.resolve(event, context)


def openapi_document(resolver: APIGatewayHttpResolver) -> str:
    return resolver.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="Send, converse, steer campaigns and operate a wacloud stack.",
        security_schemes=SECURITY_SCHEMES,
        security=[{"cognito": []}],
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m wacloud.api.app PATH``: write the OpenAPI document (make schema)."""
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(json.loads(openapi_document(include(*ROUTERS))), indent=2, sort_keys=True)
    text += "\n"
    if args:
        Path(args[0]).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
