"""`python -m local invoke <FunctionId> -e events/...` runs one function's handler, in a
process of its own, against the running local stack with the environment the stack gives
that function, read from the env-vars file `make run` writes (the same file `sam local
invoke --env-vars` reads where Docker runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.invoke import env_vars, write_env_vars
from local.stack import LocalStack
from local.template import REPO_ROOT


@pytest.fixture
def env_file(stack: LocalStack, tmp_path: Path) -> Path:
    return write_env_vars(stack, tmp_path / "env.json")


def invoke(function: str, event: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "local", "invoke", function, "-e", event]
    return subprocess.run(
        [*command, "--env-vars", str(env_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_env_vars_file_points_every_function_at_the_local_stack(
    stack: LocalStack, env_file: Path
) -> None:
    written: dict[str, dict[str, str]] = json.loads(env_file.read_text())
    assert written == env_vars(stack)
    assert set(written) == set(stack.functions)
    assert stack.emulator is not None
    for function, variables in written.items():
        assert variables["AWS_ENDPOINT_URL"] == stack.moto_url, function
        assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == stack.dynamodb_url, function
        assert variables["GRAPH_API_BASE_URL"] == stack.emulator.url, function
        assert variables["TABLE_NAME"] == stack.function_environment(function)["TABLE_NAME"]
        # What Lambda's runtime sets per process is not configuration.
        assert not {"PATH", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME"} & set(variables)


def test_webhook_verify_answers_meta_challenge_with_the_stack_secret(env_file: Path) -> None:
    """The verify token is read from the stack's secret in moto: the handler reached it."""
    result = invoke("WebhookVerifyFunction", "events/webhook_verify.json", env_file)
    assert result.returncode == 0, result.stderr
    response: dict[str, Any] = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert response["body"] == "1158201444"


def test_the_sender_sample_runs_against_the_stack_tables_and_emulator(env_file: Path) -> None:
    result = invoke("SenderFunction", "events/sender.json", env_file)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"batchItemFailures": []}


def test_an_unknown_function_is_named_with_the_ones_there_are(env_file: Path) -> None:
    result = invoke("NoSuchFunction", "events/webhook_verify.json", env_file)
    assert result.returncode == 2
    assert "no function 'NoSuchFunction'" in result.stderr
    assert "WebhookVerifyFunction" in result.stderr


def test_without_a_running_stack_it_says_how_to_start_one(tmp_path: Path) -> None:
    result = invoke("WebhookVerifyFunction", "events/webhook_verify.json", tmp_path / "none.json")
    assert result.returncode == 2
    assert "make run" in result.stderr
