"""Signing in to the web console in a real browser, on the local stack: the sign-in
page, the way back with a code, the tokens the API accepts, and the headers and
config the console is served with (docs/console.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.stack import LocalStack

pytestmark = pytest.mark.browser


def test_a_signed_out_visit_lands_on_the_sign_in_form(
    page: Any, console_url: str, session_stack: LocalStack, screenshot: Callable[..., Path]
) -> None:
    page.goto(console_url)
    page.wait_for_selector("input[name=username]")
    assert page.locator("input[name=password]").get_attribute("type") == "password"
    assert page.locator("button[type=submit]").is_visible()
    assert session_stack.operator_auth is not None
    assert page.url.startswith(session_stack.operator_auth.token_url.removesuffix("/token"))
    assert "code_challenge_method=S256" in page.url
    screenshot(page, "sign-in")


def test_a_wrong_password_keeps_the_form(page: Any, console_url: str) -> None:
    page.goto(console_url)
    page.fill("input[name=username]", "agent")
    page.fill("input[name=password]", "Not-the-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Incorrect username or password")
    assert page.locator("input[name=password]").is_visible()


def test_sign_in_round_trip(
    signed_in_page: Callable[..., Any],
    console_url: str,
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    page = signed_in_page("agent")
    assert page.url.startswith(console_url)
    assert "code=" not in page.url
    assert "agent" in page.locator("[data-testid=signed-in-as]").inner_text()
    # The console holds a token the operator API accepts.
    status = page.evaluate(
        """async (api) => {
            const tokens = Object.keys(sessionStorage)
                .map((k) => { try { return JSON.parse(sessionStorage.getItem(k)); }
                              catch { return null; } })
                .find((v) => v && v.access_token);
            const r = await fetch(api + "/v1/openapi.json",
                {headers: {Authorization: "Bearer " + tokens.access_token}});
            return r.status;
        }""",
        console_url.removesuffix("/console/"),
    )
    assert status == 200
    screenshot(page, "signed-in")
    assert not [e for e in browser_errors if "Content Security Policy" in e], browser_errors


def test_sign_out_forgets_the_tokens(signed_in_page: Callable[..., Any]) -> None:
    page = signed_in_page("admin")
    page.click("[data-testid=sign-out]")
    page.wait_for_selector("input[name=username]")
    assert page.evaluate("() => sessionStorage.length") == 0 or not page.evaluate(
        "() => Object.values(sessionStorage).some((v) => v.includes('access_token'))"
    )


def test_config_and_headers_are_served(console_url: str, session_stack: LocalStack) -> None:
    config = httpx.get(console_url + "config.json", timeout=30)
    assert config.status_code == 200
    body = config.json()
    assert session_stack.gateway is not None and session_stack.operator_auth is not None
    assert body["api_url"] == session_stack.gateway.url
    assert body["client_id"] == session_stack.operator_auth.console_client_id
    assert body["redirect_uri"] == console_url
    index = httpx.get(console_url, timeout=30)
    assert index.status_code == 200
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["x-content-type-options"] == "nosniff"
    assert index.headers["referrer-policy"] == "no-referrer"
    policy = index.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
