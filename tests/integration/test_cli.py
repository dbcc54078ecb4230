"""`wacloud` as a user runs it: the installed console script, in its own process, over
HTTP against the local stack's operator API with real tokens.

`cli_env(role)` (tests/integration/conftest.py, from the lead's auth work) gives the
environment a user of that role would have after `wacloud login`: WACLOUD_API_URL and
WACLOUD_TOKEN. Every run gets its own WACLOUD_CONFIG, so no one's real profile is read.
The tests that need the API are skipped until that fixture lands (#13, "Auth:" commit).
"""

from __future__ import annotations

import json
import os
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
NEEDS_AUTH = pytest.mark.skip(reason="needs #13 auth (cli_env fixture)")


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


@NEEDS_AUTH
def test_send_then_show_and_the_customer_receives_it(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli, customer: str
) -> None:
    assert stack.emulator is not None
    admin = cli_env("admin")
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


@NEEDS_AUTH
def test_refusals_have_the_documented_exit_codes(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli
) -> None:
    admin, agent = cli_env("admin"), cli_env("agent")
    invalid = cli(admin, "send", "-n", PNID, "--to", "not-a-number", "--text", "x")
    assert invalid.returncode == 1, invalid.stderr
    assert "invalid_request" in invalid.stderr and "to" in invalid.stderr
    missing = cli(agent, "--json", "message", "show", "no-such-message", "-n", PNID)
    assert missing.returncode == 1
    assert json.loads(missing.stderr)["error"]["code"] == "not_found"
    assert cli(agent, "tenants", "list").returncode == 3  # an agent is not an admin
    bad_token = {**admin, "WACLOUD_TOKEN": "not.a.token"}
    assert cli(bad_token, "health").returncode == 3


@NEEDS_AUTH
def test_schedule_then_cancel_once(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli, customer: str
) -> None:
    admin = cli_env("admin")
    scheduled = cli.json(admin, "schedule", "-n", PNID, "--to", f"+{customer}", "--text",
                         "later", "--at", "+2h")  # fmt: skip
    assert scheduled["status"] == "scheduled"
    assert cli(admin, "message", "cancel", scheduled["message_id"], "-n", PNID).returncode == 0
    shown = cli.json(admin, "message", "show", scheduled["message_id"], "-n", PNID)
    assert shown["status"] == "cancelled"
    again = cli(admin, "--json", "message", "cancel", scheduled["message_id"], "-n", PNID)
    assert again.returncode == 1
    assert json.loads(again.stderr)["error"]["code"] == "not_scheduled"
    assert stack.emulator is not None
    assert not stack.emulator.sent_messages(to=customer)


@NEEDS_AUTH
def test_an_agent_takes_over_replies_and_resolves(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli, customer: str
) -> None:
    assert stack.emulator is not None
    agent = cli_env("agent")
    stack.emulator.customer_text(customer, "hola, quiero hablar con un humano")

    def waiting() -> Any:
        page = cli.json(agent, "conversations", "list", "-n", PNID, "--state", "handoff")
        return [c for c in page["items"] if c["wa_id"] == customer]

    wait_for("the conversation waits for a person", waiting, timeout=60)
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


@NEEDS_AUTH
def test_a_campaign_from_a_segment_is_watched_to_completed(
    stack: LocalStack, cli_env: Callable[[str], dict[str, str]], cli: Cli, scheduler: None
) -> None:
    from tests.integration.test_outbound import sync_templates

    assert stack.emulator is not None
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
    assert final["status"] == "completed"
    assert final["totals"]["queued"] == len(people)
    assert time.monotonic() - started < 150
    table = cli(admin, "campaign", "show", created["campaign_id"], "-n", PNID)
    assert table.returncode == 0 and "total" in table.stdout
