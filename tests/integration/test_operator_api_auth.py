"""The operator API's door: no route is anonymous, roles are enforced, machine clients
work, and tokens are checked by the gateway as API Gateway's JWT authorizer does."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from local.operator_auth import _signing_key
from local.stack import LocalStack

pytestmark = pytest.mark.integration


def test_no_token_is_401_from_the_gateway_and_the_function_never_runs(api: Any) -> None:
    response = api(None).get("/v1/openapi.json")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_a_user_without_a_role_is_403_and_an_agent_passes(api: Any) -> None:
    assert api("viewer").get("/v1/openapi.json").error_code == "forbidden"
    assert api("agent").get("/v1/openapi.json").status_code == 200


def test_every_route_of_the_document_refuses_an_anonymous_caller(api: Any) -> None:
    document = api("admin").get("/v1/openapi.json").json()
    assert len(document["paths"]) >= 1
    for path, operations in document["paths"].items():
        concrete = path.replace("{", "x").replace("}", "x")
        for method in operations:
            response = api(None).request(method.upper(), concrete)
            assert response.status_code == 401, (method, path)


def _forged(stack: LocalStack, **changes: Any) -> str:
    """A token signed with the pool's own key but with claims changed."""
    from joserfc import jwt

    assert stack.operator_auth is not None
    auth = stack.operator_auth
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{auth.pool_id}",
        "sub": "forged",
        "client_id": auth.cli_client_id,
        "token_use": "access",
        "username": "mallory",
        "cognito:groups": ["admin"],
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, _signing_key())


def test_expired_foreign_issuer_and_foreign_audience_tokens_are_401(
    stack: LocalStack, api: Any
) -> None:
    assert api(token=_forged(stack)).get("/v1/openapi.json").status_code == 200
    for bad in (
        _forged(stack, exp=int(time.time()) - 5),
        _forged(stack, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
        _forged(stack, client_id="some-other-client"),
    ):
        assert api(token=bad).get("/v1/openapi.json").status_code == 401
    tampered = api("admin").token()
    assert tampered is not None
    head, payload, signature = tampered.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert api(token=f"{head}.{payload}.{flipped}").get("/v1/openapi.json").status_code == 401


def test_a_machine_client_gets_the_role_of_its_scope(stack: LocalStack, api: Any) -> None:
    auth = stack.operator_auth
    assert auth is not None
    agent_app = api(token=auth.machine_token("wacloud/agent"))
    assert agent_app.get("/v1/openapi.json").status_code == 200
    # An undeclared scope or a wrong secret gets no token at all.
    refused = httpx.post(
        auth.token_url,
        data={"grant_type": "client_credentials", "scope": "wacloud/owner"},
        auth=(auth.app_client_id, auth.app_client_secret()),
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    wrong = httpx.post(
        auth.token_url,
        data={"grant_type": "client_credentials"},
        auth=(auth.app_client_id, "not-the-secret"),
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"


def test_the_webhook_stays_open_to_meta(stack: LocalStack) -> None:
    """The operator API's authorizer is its own: Meta's webhook needs no token."""
    response = httpx.get(
        stack.webhook_url,
        params={"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": "x"},
    )
    assert response.status_code != 401
