"""`wacloud` as a user runs it: the installed console script, in its own process, over
HTTP against the local stack's operator API with real tokens.

`cli_env(role)` (tests/integration/conftest.py, from the lead's auth work) gives the
environment a user of that role would have after `wacloud login`: WACLOUD_API_URL and
WACLOUD_TOKEN. Every run gets its own WACLOUD_CONFIG, so no one's real profile is read.
`wacloud login` itself is tested against the stack's Cognito (moto) and its token endpoint.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID
from local.stack import LocalStack
from local.waiting import wait_for

pytestmark = pytest.mark.integration

PNID = DEFAULT_PHONE_NUMBER_ID
WACLOUD = Path(sys.executable).parent / "wacloud"


class Cli:
    """`cli(env, "send", ...)`: runs the installed `wacloud` and returns the outcome."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def __call__(
        self, env: dict[str, str] | None, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("WACLOUD_")}
        base["WACLOUD_CONFIG"] = str(self.home / "config.toml")
        base["COLUMNS"] = "200"  # tables wide enough that values are not folded
        return subprocess.run(
            [str(WACLOUD), *args],
            env={**base, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def json(self, env: dict[str, str] | None, *args: str) -> Any:
        done = self(env, "--json", *args)
        assert done.returncode == 0, (done.returncode, done.stderr)
        return json.loads(done.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    assert WACLOUD.exists(), "the console script is installed by make setup (-e . in requirements)"
    return Cli(tmp_path)


_TEMPLATED = re.compile(r"\{[^}]*\}")


def require_routes(cli: Cli, env: dict[str, str], *routes: str) -> None:
    """Skip until the API serves these routes (each resource's helper merges its own):
    read from the API's OpenAPI document, so the test runs as soon as they are there."""
    document = cli.json(env, "request", "GET", "/v1/openapi.json")
    served = {
        f"{method.upper()} {_TEMPLATED.sub('{}', path)}"
        for path, item in (document.get("paths") or {}).items()
        for method in item
    }
    missing = [r for r in routes if _TEMPLATED.sub("{}", r) not in served]
    if missing:
        pytest.skip(f"the API does not serve {', '.join(missing)} yet")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- without the API


def test_the_installed_script_answers_version_and_help(cli: Cli) -> None:
    version = cli(None, "--version")
    assert version.returncode == 0 and version.stdout.startswith("wacloud ")
    listed = cli(None, "--help")
    assert listed.returncode == 0
    for name in ("send", "schedule", "conversations", "campaign", "dlq", "health", "login"):
        assert name in listed.stdout


def test_exit_codes_before_any_request(cli: Cli) -> None:
    unreachable = {"WACLOUD_API_URL": f"http://127.0.0.1:{free_port()}", "WACLOUD_TOKEN": "t"}
    down = cli(unreachable, "--json", "health")
    assert down.returncode == 4
    assert json.loads(down.stderr)["error"]["code"] == "unreachable"
    assert cli({"WACLOUD_API_URL": "http://127.0.0.1:9"}, "health").returncode == 3  # no login
    assert cli(None, "health").returncode == 2  # no API URL anywhere
    assert cli(None, "send", "--no-such-flag").returncode == 2


# --------------------------------------------------------------------------- through the API


def test_send_then_show_and_the_customer_receives_it(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli, customer: str
) -> None:
    assert stack.emulator is not None
    admin = cli_env("admin")
    require_routes(cli, admin, "POST /v1/messages", "GET /v1/numbers/{}/messages/{}")
    # Free-form text needs the customer's 24-hour window: they write first (the menu
    # answering them shows the message was recorded).
    stack.emulator.customer_text(customer, "hola")
    wait_for("the bot answered", lambda: stack.emulator.sent_messages(to=customer), timeout=60)  # type: ignore[union-attr]
    text = f"cli hello {uuid.uuid4().hex[:8]}"
    key = uuid.uuid4().hex
    accepted = cli.json(admin, "send", "-n", PNID, "--to", f"+{customer}", "--text", text,
                        "--idempotency-key", key)  # fmt: skip
    assert accepted["status"] == "accepted"
    again = cli.json(admin, "send", "-n", PNID, "--to", f"+{customer}", "--text", text,
                     "--idempotency-key", key)  # fmt: skip
    assert again["message_id"] == accepted["message_id"]
    wait_for(
        "the customer received the text",
        lambda: [
            m
            for m in stack.emulator.sent_messages(to=customer)  # type: ignore[union-attr]
            if m["payload"].get("text", {}).get("body") == text
        ],
        timeout=60,
    )

    def shown_sent() -> Any:
        shown = cli.json(cli_env("agent"), "message", "show", accepted["message_id"], "-n", PNID)
        return shown if shown["status"] in ("sent", "delivered", "read") else None

    shown = wait_for("the message shows as sent", shown_sent, timeout=60)
    assert shown["history"]
    table = cli(cli_env("agent"), "message", "show", accepted["message_id"], "-n", PNID)
    assert table.returncode == 0 and accepted["message_id"] in table.stdout


def test_refusals_have_the_documented_exit_codes(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli
) -> None:
    admin, agent = cli_env("admin"), cli_env("agent")
    require_routes(cli, admin, "POST /v1/messages", "GET /v1/numbers/{}/messages/{}")
    invalid = cli(admin, "send", "-n", PNID, "--to", "not-a-number", "--text", "x")
    assert invalid.returncode == 1, invalid.stderr
    assert "invalid_request" in invalid.stderr and "to" in invalid.stderr
    missing = cli(agent, "--json", "message", "show", "no-such-message", "-n", PNID)
    assert missing.returncode == 1
    assert json.loads(missing.stderr)["error"]["code"] == "not_found"
    assert cli(agent, "tenants", "list").returncode == 3  # an agent is not an admin
    bad_token = {**admin, "WACLOUD_TOKEN": "not.a.token"}
    assert cli(bad_token, "health").returncode == 3


def test_schedule_then_cancel_once(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli, customer: str
) -> None:
    admin = cli_env("admin")
    require_routes(cli, admin, "POST /v1/messages", "DELETE /v1/numbers/{}/messages/{}")
    scheduled = cli.json(admin, "schedule", "-n", PNID, "--to", f"+{customer}", "--text",
                         "later", "--at", "+2h")  # fmt: skip
    assert scheduled["status"] == "scheduled"
    assert cli(admin, "message", "cancel", scheduled["message_id"], "-n", PNID).returncode == 0
    shown = cli.json(admin, "message", "show", scheduled["message_id"], "-n", PNID)
    assert shown["status"] == "cancelled"
    # Cancelling again is harmless (a retried script must not fail): still cancelled.
    again = cli.json(admin, "message", "cancel", scheduled["message_id"], "-n", PNID)
    assert again["status"] == "cancelled"
    assert stack.emulator is not None
    assert not stack.emulator.sent_messages(to=customer)


def test_an_agent_takes_over_replies_and_resolves(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli, customer: str
) -> None:
    assert stack.emulator is not None
    agent = cli_env("agent")
    require_routes(
        cli,
        agent,
        "GET /v1/numbers/{}/conversations",
        "POST /v1/numbers/{}/conversations/{}/take",
        "POST /v1/numbers/{}/conversations/{}/reply",
        "POST /v1/numbers/{}/conversations/{}/resolve",
    )
    stack.emulator.customer_text(customer, "hola, quiero hablar con un humano")

    def waiting() -> Any:
        page = cli.json(agent, "conversations", "list", "-n", PNID, "--state", "handoff")
        return [c for c in page["items"] if c["wa_id"] == customer]

    wait_for("the conversation waits for a person", waiting, timeout=60)
    # The handoff notice follows the handoff record: count from after it.
    wait_for("the handoff notice", lambda: stack.emulator.sent_messages(to=customer), timeout=60)  # type: ignore[union-attr]
    assert cli(agent, "handoff", "take", customer, "-n", PNID).returncode == 0
    before = len(stack.emulator.sent_messages(to=customer))
    text = f"soy una persona {uuid.uuid4().hex[:6]}"
    replied = cli.json(agent, "reply", customer, text, "-n", PNID)
    assert replied["message_id"]
    wait_for(
        "the customer received the agent's reply",
        lambda: [
            m
            for m in stack.emulator.sent_messages(to=customer)  # type: ignore[union-attr]
            if m["payload"].get("text", {}).get("body") == text
        ],
        timeout=60,
    )
    shown = cli.json(agent, "conversations", "show", customer, "-n", PNID)
    assert shown["state"] == "assigned"
    assert len(stack.emulator.sent_messages(to=customer)) == before + 1  # the bot stayed silent
    assert cli(agent, "handoff", "resolve", customer, "-n", PNID).returncode == 0
    assert cli.json(agent, "conversations", "show", customer, "-n", PNID)["state"] == "resolved"


def test_a_user_logs_in_with_cognito_and_the_profile_works(stack: LocalStack, cli: Cli) -> None:
    auth, gateway = stack.operator_auth, stack.gateway
    assert auth is not None and gateway is not None
    password = "Cli-admin-pass1"
    auth.create_user("cli-admin", "admin", password)
    wrong = cli(None, "login", "--api-url", gateway.url, "--username", "cli-admin",
                "--client-id", auth.cli_client_id, "--cognito-endpoint", auth.cognito_endpoint,
                "--password-stdin", input="wrong-Pass1\n")  # fmt: skip
    assert wrong.returncode == 3
    logged = cli(None, "--profile", "local", "login", "--api-url", gateway.url, "--username",
                 "cli-admin", "--client-id", auth.cli_client_id, "--cognito-endpoint",
                 auth.cognito_endpoint, "--number", PNID, "--password-stdin",
                 input=password + "\n")  # fmt: skip
    assert logged.returncode == 0, logged.stderr
    assert password not in logged.stdout + logged.stderr
    # The stored profile is the default now: no flags, no environment.
    assert cli(None, "--json", "request", "GET", "/v1/openapi.json").returncode == 0
    listed = cli.json(None, "profiles", "list")
    assert listed["items"][0]["logged_in"] == "yes"
    assert cli(None, "logout").returncode == 0
    assert cli(None, "request", "GET", "/v1/openapi.json").returncode == 3


def test_an_app_logs_in_with_client_credentials_and_its_scope_is_its_role(
    stack: LocalStack, cli: Cli
) -> None:
    auth, gateway = stack.operator_auth, stack.gateway
    assert auth is not None and gateway is not None
    secret = {"WACLOUD_CLIENT_SECRET": auth.app_client_secret()}
    as_agent = cli(secret, "login", "--api-url", gateway.url, "--client-id", auth.app_client_id,
                   "--token-url", auth.token_url, "--scope", "wacloud/agent")  # fmt: skip
    assert as_agent.returncode == 0, as_agent.stderr
    assert secret["WACLOUD_CLIENT_SECRET"] not in (cli.home / "config.toml").read_text()
    assert cli(None, "request", "GET", "/v1/openapi.json").returncode == 0  # agent route
    admin_only = cli(None, "--json", "tenants", "list")  # admin route: 403 (or no route yet)
    assert admin_only.returncode in (1, 3)
    assert json.loads(admin_only.stderr)["error"]["code"] in ("forbidden", "no_route")
    wrong = cli({"WACLOUD_CLIENT_SECRET": "nope"}, "login", "--client-id", auth.app_client_id,
                "--token-url", auth.token_url, "--scope", "wacloud/agent")  # fmt: skip
    assert wrong.returncode == 3


@pytest.fixture
def scheduler(stack: LocalStack) -> Iterator[None]:
    """The QueueProcessor's schedule (off in tests), fired every 2 s while the test runs."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            stack.tickers["QueueProcessorFunctionEveryMinute"].fire()
            stop.wait(2.0)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)


def test_a_campaign_from_a_segment_is_watched_to_completed(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli, scheduler: None
) -> None:
    from tests.integration.test_outbound import sync_templates

    assert stack.emulator is not None
    require_routes(
        cli,
        cli_env("admin"),
        "PATCH /v1/numbers/{}/contacts/{}",
        "POST /v1/numbers/{}/campaigns",
        "GET /v1/numbers/{}/campaigns/{}",
    )
    template = f"cli_offer_{uuid.uuid4().hex[:6]}"
    stack.emulator.add_template(template, category="MARKETING", body="Hi {{1}}, 20% off")
    sync_templates(stack)
    admin, tag = cli_env("admin"), f"cli-{uuid.uuid4().hex[:6]}"
    people = [f"1777{uuid.uuid4().int % 10**7:07d}" for _ in range(3)]
    for wa_id in people:  # known contacts: they wrote to us
        stack.emulator.customer_text(wa_id, "hello")
    for wa_id in people:
        wait_for(
            "the contact is known",
            lambda w=wa_id: cli(admin, "contacts", "show", w, "-n", PNID).returncode == 0,
            timeout=60,
        )
        assert cli(admin, "contacts", "tag", wa_id, tag, "-n", PNID).returncode == 0
    created = cli.json(admin, "campaign", "create", "-n", PNID, "--name", "cli test",
                       "--template", template, "--variable", "body={profile_name}",
                       "--segment-tag", tag)  # fmt: skip
    started = time.monotonic()
    watched = cli(admin, "--json", "campaign", "watch", created["campaign_id"], "-n", PNID,
                  "--interval", "1", "--timeout", "150", timeout=180)  # fmt: skip
    assert watched.returncode == 0, watched.stderr
    final = json.loads(watched.stdout)
    assert final["status"] == "completed", final
    assert final["totals"]["queued"] == len(people)
    assert time.monotonic() - started < 150
    table = cli(admin, "campaign", "show", created["campaign_id"], "-n", PNID)
    assert table.returncode == 0 and "total" in table.stdout
