"""The operator API application: one resolver, every resource's router, one error map.

Routes live in `wacloud.api.routes.<resource>` (one module per resource, each a
Powertools ``Router``); this module only assembles them. The OpenAPI document the
resolver derives from the route signatures is served at ``GET /v1/openapi.json``
(authenticated like every route) and written to ``schema/operator-api.json`` by
``make schema`` (a test fails when the committed copy is stale).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from wacloud.api import errors
from wacloud.api.auth import Agent
from wacloud.api.routes import (
    agents,
    campaigns,
    contacts,
    conversations,
    messages,
    operations,
    templates,
    tenants,
    workflows,
)

TITLE = "wacloud operator API"
VERSION = "1"
ROUTERS = (
    messages,
    conversations,
    agents,
    contacts,
    templates,
    campaigns,
    workflows,
    tenants,
    operations,
)
SECURITY_SCHEMES: dict[str, Any] = {
    "cognito": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Cognito access token: a user's (groups admin / agent) or a machine "
        "client's (client credentials, scopes wacloud/admin / wacloud/agent).",
    }
}


def build_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    errors.install(app)
    for module in ROUTERS:
        app.include_router(module.router)

    @app.get("/v1/openapi.json", summary="This API's OpenAPI document", tags=["meta"])
    def openapi_json(caller: Agent) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(openapi_document(app))
        return document

    return app


def openapi_document(app: APIGatewayHttpResolver) -> str:
    return app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="Send, converse, steer campaigns and operate a wacloud stack.",
        security_schemes=SECURITY_SCHEMES,
        security=[{"cognito": []}],
    )


app = build_app()


def main(argv: list[str] | None = None) -> None:
    """``python -m wacloud.api.app PATH``: write the OpenAPI document (make schema)."""
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(json.loads(openapi_document(app)), indent=2, sort_keys=True) + "\n"
    if args:
        Path(args[0]).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
