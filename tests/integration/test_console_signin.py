"""The web console on the local stack: its files and config through the gateway, and
the local pool domain's sign-in (authorization code + PKCE) that stands in for
Cognito's hosted pages (local/operator_auth.py, docs/console.md)."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local import operator_auth
from local.operator_auth import s256
from local.stack import LocalStack

pytestmark = pytest.mark.integration

PASSWORD = "Console-pass-1234"


@pytest.fixture(scope="module")
def config(session_stack: LocalStack) -> dict[str, Any]:
    response = httpx.get(session_stack.console_url + "config.json", timeout=30)
    assert response.status_code == 200
    loaded: dict[str, Any] = response.json()
    return loaded


@pytest.fixture(scope="module")
def user(session_stack: LocalStack) -> str:
    assert session_stack.operator_auth is not None
    session_stack.operator_auth.create_user("console-agent", "agent", PASSWORD)
    return "console-agent"


def _authorize_query(config: dict[str, Any], challenge: str, **overrides: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": config["client_id"],
        "redirect_uri": config["redirect_uri"],
        "scope": config["scopes"],
        "state": "st-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }


def _sign_in(
    config: dict[str, Any], username: str, password: str, **overrides: str
) -> tuple[httpx.Response, str]:
    """Open the sign-in form and submit it; the answer (a redirect with the code, or
    the form again) and the code verifier."""
    verifier = secrets.token_urlsafe(48)
    query = _authorize_query(config, s256(verifier), **overrides)
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        form = client.get(config["authorize_url"], params=query)
        assert form.status_code == 200, form.text
        token = re.search(r'name="form_token" value="([^"]+)"', form.text)
        assert token is not None
        answer = client.post(
            config["authorize_url"],
            data={
                **query,
                "form_token": token.group(1),
                "username": username,
                "password": password,
            },
        )
    return answer, verifier


def _code(answer: httpx.Response, config: dict[str, Any]) -> str:
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(config["redirect_uri"] + "?")
    return parse_qs(urlsplit(location).query)["code"][0]


def _exchange(config: dict[str, Any], code: str, verifier: str, **overrides: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": config["client_id"],
        "code": code,
        "redirect_uri": config["redirect_uri"],
        "code_verifier": verifier,
        **overrides,
    }
    return httpx.post(config["token_url"], data=data, timeout=30)


def test_config_points_at_this_machine(session_stack: LocalStack, config: dict[str, Any]) -> None:
    assert session_stack.gateway is not None and session_stack.operator_auth is not None
    assert config["api_url"] == session_stack.gateway.url
    assert config["redirect_uri"] == session_stack.console_url
    assert config["client_id"] == session_stack.operator_auth.console_client_id
    assert config["token_url"] == session_stack.operator_auth.token_url
    assert config["authorize_url"].endswith("/oauth2/authorize")
    assert config["logout_url"].endswith("/logout")
    assert config["scopes"] == "openid email profile"


def test_console_routes_need_no_token(session_stack: LocalStack) -> None:
    assert session_stack.gateway is not None
    root = httpx.get(session_stack.gateway.url + "/console", timeout=30)
    assert root.status_code == 301 and root.headers["location"] == "/console/"
    missing = httpx.get(session_stack.console_url + "no-such-file.js", timeout=30)
    assert missing.status_code == 404
    assert (
        "content-security-policy"
        in httpx.get(session_stack.console_url + "config.json", timeout=30).headers
    )
    # The operator API still wants a token; its preflight does not.
    assert httpx.get(session_stack.gateway.url + "/v1/openapi.json", timeout=30).status_code == 401
    preflight = httpx.options(session_stack.gateway.url + "/v1/openapi.json", timeout=30)
    assert preflight.status_code == 204


def test_sign_in_gives_the_users_tokens_which_the_api_accepts(
    session_stack: LocalStack, config: dict[str, Any], user: str
) -> None:
    answer, verifier = _sign_in(config, user, PASSWORD, state="keep-me")
    code = _code(answer, config)
    assert parse_qs(urlsplit(answer.headers["location"]).query)["state"] == ["keep-me"]
    tokens = _exchange(config, code, verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert {"access_token", "id_token", "refresh_token", "expires_in"} <= set(body)
    assert body["token_type"] == "Bearer"
    assert session_stack.gateway is not None
    me = httpx.get(
        session_stack.gateway.url + "/v1/openapi.json",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=30,
    )
    assert me.status_code == 200, me.text

    refreshed = httpx.post(
        config["token_url"],
        data={
            "grant_type": "refresh_token",
            "client_id": config["client_id"],
            "refresh_token": body["refresh_token"],
        },
        headers={"Origin": session_stack.gateway.url},
        timeout=30,
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["access_token"]
    # The console calls the token endpoint from its own origin.
    assert refreshed.headers["access-control-allow-origin"] == session_stack.gateway.url


def test_a_wrong_password_shows_the_form_again(config: dict[str, Any], user: str) -> None:
    answer, _ = _sign_in(config, user, "wrong-password-1A", state="<b>x</b>")
    assert answer.status_code == 200
    assert "Incorrect username or password" in answer.text
    assert 'name="password"' in answer.text
    # Whatever came in is escaped, never markup.
    assert "<b>x</b>" not in answer.text and "&lt;b&gt;x&lt;/b&gt;" in answer.text


def test_a_verifier_that_does_not_match_the_challenge_is_refused(
    config: dict[str, Any], user: str
) -> None:
    answer, _ = _sign_in(config, user, PASSWORD)
    refused = _exchange(config, _code(answer, config), secrets.token_urlsafe(48))
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant"}


def test_a_code_works_once(config: dict[str, Any], user: str) -> None:
    answer, verifier = _sign_in(config, user, PASSWORD)
    code = _code(answer, config)
    assert _exchange(config, code, verifier).status_code == 200
    again = _exchange(config, code, verifier)
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


def test_a_code_is_bound_to_its_redirect_and_client(config: dict[str, Any], user: str) -> None:
    answer, verifier = _sign_in(config, user, PASSWORD)
    code = _code(answer, config)
    other = _exchange(config, code, verifier, redirect_uri="http://127.0.0.1:1/console/")
    assert other.status_code == 400
    # ... and a refused attempt used it up.
    assert _exchange(config, code, verifier).status_code == 400
    answer, verifier = _sign_in(config, user, PASSWORD)
    wrong_client = _exchange(config, _code(answer, config), verifier, client_id="someone-else")
    assert wrong_client.status_code == 400


def test_an_unlisted_redirect_is_never_followed(config: dict[str, Any]) -> None:
    query = _authorize_query(config, s256(secrets.token_urlsafe(48)))
    query["redirect_uri"] = "https://attacker.example/console/"
    response = httpx.get(config["authorize_url"], params=query, timeout=30)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_pkce_is_required(config: dict[str, Any]) -> None:
    query = _authorize_query(config, "", code_challenge_method="plain")
    response = httpx.get(config["authorize_url"], params=query, timeout=30)
    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["location"]


def test_a_stale_form_is_not_accepted(config: dict[str, Any], user: str) -> None:
    verifier = secrets.token_urlsafe(48)
    query = _authorize_query(config, s256(verifier))
    answer = httpx.post(
        config["authorize_url"],
        data={**query, "form_token": "forged", "username": user, "password": PASSWORD},
        timeout=30,
    )
    assert answer.status_code == 200 and "expired" in answer.text


def test_an_expired_code_is_refused(
    config: dict[str, Any], user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The issuer runs in this process: its codes now expire as they are issued.
    monkeypatch.setattr(operator_auth, "CODE_LIFETIME", -1.0)
    answer, verifier = _sign_in(config, user, PASSWORD)
    refused = _exchange(config, _code(answer, config), verifier)
    assert refused.status_code == 400


def test_sign_out_returns_to_the_console(config: dict[str, Any]) -> None:
    response = httpx.get(
        config["logout_url"],
        params={"client_id": config["client_id"], "logout_uri": config["redirect_uri"]},
        timeout=30,
    )
    assert response.status_code == 302 and response.headers["location"] == config["redirect_uri"]
    elsewhere = httpx.get(
        config["logout_url"],
        params={"client_id": config["client_id"], "logout_uri": "https://attacker.example/"},
        timeout=30,
    )
    assert elsewhere.status_code == 400
