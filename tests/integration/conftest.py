"""The local stack as a fixture: moto server, the emulator, the gateway and the real
handlers in their own processes, wired from template.yaml (see local/stack.py).

One stack per test session (per xdist worker); tests isolate themselves by using
their own customer numbers (`customer` fixture). Tests that need a differently
configured stack (faults, preload hooks) start their own with `make_stack`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.stack import LocalStack, LocalStackConfig, use_stack_in_this_process

# Test configuration, set the way a deployer would (environment variables):
# a short reconcile grace (8 s, above a busy machine's claim-to-send gap) so
# crash-recovery tests finish in seconds.
# Media that cannot be fetched at once is retried after 2 s (then 4, 8...), not 60.
TEST_ENVIRONMENT = {
    "*": {"SEND_RECONCILE_GRACE_SECONDS": "8"},
    "InboundProcessorFunction": {"INBOUND_MEDIA_RETRY_SECONDS": "2"},
}
_numbers = itertools.count(1)


def stack_config(tmp_path: Path, **overrides: Any) -> LocalStackConfig:
    config = LocalStackConfig(
        run_schedules=False,
        log_dir=tmp_path / "lambda-logs",
        environment={k: dict(v) for k, v in TEST_ENVIRONMENT.items()},
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture(scope="session")
def session_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(stack_config(tmp_path_factory.mktemp("stack"))) as running:
        yield running


@pytest.fixture
def stack(session_stack: LocalStack) -> LocalStack:
    """The shared stack, with this process's wacloud (stores, queues) pointed at it."""
    use_stack_in_this_process(session_stack)
    return session_stack


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., LocalStack]]:
    """Start a dedicated stack with config overrides; stopped after the test."""
    started: list[LocalStack] = []

    def start(**overrides: Any) -> LocalStack:
        running = LocalStack(stack_config(tmp_path, **overrides)).start()
        started.append(running)
        use_stack_in_this_process(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def customer() -> str:
    """A customer number no other test (or xdist worker) uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0"
    return f"1444{int(worker):02d}{next(_numbers):05d}"


@pytest.fixture
def api(stack: LocalStack) -> Any:
    """The operator API as a person or app calls it (tests/integration/api_client.py)."""
    from tests.integration.api_client import Api

    return Api(stack)


@pytest.fixture
def cli_env(stack: LocalStack) -> Callable[..., dict[str, str]]:
    """`cli_env("agent")`: the environment a user's shell has after `wacloud login`
    against this stack (API URL and a real access token for a user in that role)."""

    def env(role: str | None = "admin", user: str | None = None) -> dict[str, str]:
        assert stack.gateway is not None and stack.operator_auth is not None
        token = stack.operator_auth.user_token(role, user or f"{role or 'nobody'}-user")
        return {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
            "WACLOUD_API_URL": stack.gateway.url,
            "WACLOUD_TOKEN": token,
        }

    return env
