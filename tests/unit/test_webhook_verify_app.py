"""WebhookVerify's handler: every request gets an answer, a log line and (when refused
or failed) a metric; no token or challenge value ever reaches the output."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from wacloud.infra import aws, config

# Part of the bad-input suite (README, "Security"): `pytest -m bad_input`.
pytestmark = pytest.mark.bad_input

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "verify-MARKER-TOKEN-4411"


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_test_app_webhook_verify", ROOT / "functions" / "webhook_verify" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    for name, value in {
        "TABLE_NAME": "state",
        "META_SECRET_ID": "meta",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "wacloud",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()
        parameters.clear_caches()
        boto3.client("secretsmanager").create_secret(
            Name="meta",
            SecretString=json.dumps(
                {"app_secret": "s", "access_token": "t", "verify_token": TOKEN}
            ),
        )
        yield load_app()
        parameters.clear_caches()
        config.settings.cache_clear()


def call(
    app: ModuleType, capsys: pytest.CaptureFixture[str], params: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    response: dict[str, Any] = app.lambda_handler({"queryStringParameters": params}, None)
    out = capsys.readouterr().out
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert "MARKER" not in out
    assert "MARKER" not in response["body"] or response["statusCode"] == 200
    return response, lines


def metrics(lines: list[dict[str, Any]]) -> list[str]:
    return [
        m["Name"]
        for x in lines
        for d in x.get("_aws", {}).get("CloudWatchMetrics", [])
        for m in d["Metrics"]
    ]


def test_the_handshake_echoes_the_challenge(
    app: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    response, lines = call(app, capsys, params)
    assert (response["statusCode"], response["body"]) == (200, "1158201444")
    assert [x["message"] for x in lines if "message" in x] == ["webhook verified"]


@pytest.mark.parametrize(
    "token",
    ["wrong-MARKER-TOKEN", "t\u00f6ken-MARKER-\U0001f600", ""],
    ids=["wrong", "non-ascii", "empty"],
)
def test_a_wrong_token_is_403_with_a_log_line_and_metric(
    app: ModuleType, capsys: pytest.CaptureFixture[str], token: str
) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1"}
    response, lines = call(app, capsys, params)
    assert response["statusCode"] == 403
    (line,) = [x for x in lines if x.get("message") == "webhook verification refused"]
    assert line["subscribe_mode"] is True and line["token_offered"] is bool(token)
    assert metrics(lines) == ["WebhookVerifyRefused403"]


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "MARKER-\ud800", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "MARKER\udc00"},
        {"hub.mode": "\udfffMARKER", "hub.verify_token": TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": ["MARKER"], "hub.challenge": "1"},
        ["hub.mode", "subscribe"],
    ],
    ids=[
        "lone surrogate token",
        "lone surrogate challenge",
        "lone surrogate mode",
        "token not text",
        "params not a map",
    ],
)
def test_unreadable_params_are_400_with_a_log_line_and_metric(
    app: ModuleType, capsys: pytest.CaptureFixture[str], params: Any
) -> None:
    response, lines = call(app, capsys, params)
    assert (response["statusCode"], response["body"]) == (400, "Bad Request")
    (line,) = [x for x in lines if x.get("message") == "webhook verification request unreadable"]
    assert line["status"] == 400 and line["reason"]
    assert metrics(lines) == ["WebhookVerifyRefused400"]


def test_an_unreadable_secret_is_500_with_a_log_line_and_metric(
    app: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("secretsmanager").delete_secret(SecretId="meta", ForceDeleteWithoutRecovery=True)
    parameters.clear_caches()
    params = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1"}
    response, lines = call(app, capsys, params)
    assert response["statusCode"] == 500
    (line,) = [x for x in lines if x.get("message") == "webhook verification failed"]
    assert line["error"] and "meta" not in json.dumps(line).replace("message", "")
    assert metrics(lines) == ["WebhookVerifyFailed"]


def test_no_params_is_403_not_an_error(app: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    response, _ = call(app, capsys, None)
    assert response["statusCode"] == 403
