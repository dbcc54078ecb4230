"""OperatorApi: the authenticated HTTP API for people and apps (issue #13).

Thin: API Gateway's JWT authorizer has checked the token; `wacloud.api` loads the
resource's routes, routes the request, checks the role and maps errors.
docs/operator-api.md describes the API; schema/operator-api.json is its OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.api.app import handle

logger = Logger()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
