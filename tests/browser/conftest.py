"""The web console in a real browser: headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright) against the local stack, signing in through the local sign-in
page as a person would.

Fixtures (tests in tests/browser):

* ``session_stack`` / ``stack`` / ``api`` / ``customer``: the local stack and the
  helpers of tests/integration (one stack per test process).
* ``console_url``: the console's URL on that stack (``http://127.0.0.1:<port>/console/``).
* ``operators``: ``{"admin": password, "agent": password}``, users created once.
* ``page``: a fresh, signed-out page (its own browser context).
* ``signed_in_page(role="agent", *, username=None, viewport=None)``: a page that went
  through the sign-in form for real and shows the console (``[data-testid=signed-in-as]``
  filled); ``viewport={"width": 390, "height": 844}`` for a phone.
* ``browser_errors``: the console messages of type error, page errors and failed
  requests of every page these fixtures made (a test asserts it empty to catch CSP
  violations and script errors).
* ``screenshot(page, name)``: a PNG at .screenshots/<name>.png (ignored by git).

Every test module here marks itself ``pytestmark = pytest.mark.browser``: `make test`
runs them in a process of their own after the parallel run (`make browser`).
CHROMIUM=/path/to/chromium picks another binary (scripts/chromium installs Debian's).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.operator_auth import LOCAL_PASSWORDS
from local.stack import LocalStack
from local.template import REPO_ROOT
from tests.integration.conftest import (  # noqa: F401  (fixtures, shared with integration)
    api,
    customer,
    session_stack,
    stack,
)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / ".screenshots"
SIGN_IN_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/chromium (make setup does)")
    args = ["--disable-dev-shm-usage", "--disable-gpu"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def console_url(session_stack: LocalStack) -> str:  # noqa: F811
    return session_stack.console_url


@pytest.fixture(scope="session")
def operators(session_stack: LocalStack) -> dict[str, str]:  # noqa: F811
    """The local operators `make run` creates: user `admin` and user `agent`."""
    assert session_stack.operator_auth is not None
    for role, password in LOCAL_PASSWORDS.items():
        session_stack.operator_auth.create_user(role, role, password)
    return dict(LOCAL_PASSWORDS)


@pytest.fixture
def browser_errors() -> list[str]:
    return []


@pytest.fixture
def new_page(browser: Any, browser_errors: list[str]) -> Iterator[Callable[..., Any]]:
    """`new_page(viewport=None)`: a page in a browser context of its own."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
        context.set_default_timeout(SIGN_IN_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                browser_errors.append(f"console: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: browser_errors.append(f"pageerror: {error}"))
        page.on(
            "requestfailed",
            lambda request: browser_errors.append(
                f"requestfailed: {request.method} {request.url} {request.failure}"
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A signed-out page (nothing in its session storage)."""
    return new_page()


def sign_in(page: Any, console_url: str, username: str, password: str) -> None:
    """Open the console and sign in through the sign-in form, as a person does."""
    page.goto(console_url)
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{console_url}**")
    page.wait_for_function(
        "() => { const e = document.querySelector('[data-testid=signed-in-as]');"
        " return e && e.textContent.trim().length > 0; }"
    )


@pytest.fixture
def signed_in_page(
    new_page: Callable[..., Any], console_url: str, operators: dict[str, str]
) -> Callable[..., Any]:
    """`signed_in_page(role="agent", *, username=None, viewport=None)`: a page signed in
    as the local `admin` or `agent` (or `username`, a user you created with the role's
    password in operators)."""

    def make(
        role: str = "agent",
        *,
        username: str | None = None,
        password: str | None = None,
        viewport: dict[str, int] | None = None,
    ) -> Any:
        page = new_page(viewport)
        sign_in(page, console_url, username or role, password or operators[role])
        return page

    return make


def take_screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """The page as a PNG at .screenshots/<name>.png (git ignores the folder)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    return take_screenshot
