"""WebhookVerify: answers Meta's subscription handshake (GET /webhook)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from wacloud.credentials import load_credentials
from wacloud.verification import subscription_challenge

logger = Logger()
app = APIGatewayHttpResolver()


@app.get("/webhook")
def verify() -> Response[str]:
    params = app.current_event.query_string_parameters or {}
    challenge = subscription_challenge(params, load_credentials().verify_token)
    if challenge is None:
        logger.warning("webhook verification refused", extra={"mode": params.get("hub.mode")})
        return Response(403, content_types.TEXT_PLAIN, "Forbidden")
    logger.info("webhook verified")
    return Response(200, content_types.TEXT_PLAIN, challenge)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
