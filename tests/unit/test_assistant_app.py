"""functions/assistant: cold init without pydantic or openai; failures reported per record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from tests.unit.function_apps import ROOT, load_app
from wacloud.assistant import Job, Outcome

_PROBE = (
    "import sys, app; "
    "print(','.join(sorted(m for m in ('pydantic', 'openai', 'numpy') if m in sys.modules)))"
)


def test_cold_init_imports_no_pydantic_nor_openai() -> None:
    directory = ROOT / "functions" / "assistant"
    layer = ROOT / "layers" / "common" / "python"
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=directory,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_DEFAULT_REGION": "us-east-1",
            "TABLE_NAME": "cold-table",
            "META_SECRET_ID": "cold-secret",
            "PYTHONPATH": os.pathsep.join([str(directory), str(layer)]),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ""


@dataclass
class FakeWorker:
    def handle(self, job: Job) -> Outcome:
        if job.wamid == "bad":
            raise RuntimeError("table unavailable")
        return Outcome("answered", "question", 0.9, replies=1, input_tokens=5, output_tokens=1)


class Context:
    function_name = "assistant"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:assistant"
    aws_request_id = "req"


def _record(message_id: str, body: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "h",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:assistant",
        "awsRegion": "us-east-1",
    }


def test_failed_records_reported_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("META_SECRET_ID", "m")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "test")
    app = load_app("assistant")
    monkeypatch.setattr(app, "_worker", FakeWorker)
    job = {"phone_number_id": "1", "wa_id": "2", "wamid": "ok", "type": "text", "text": "hi"}
    event = {
        "Records": [
            _record("a", job),
            _record("b", {**job, "wamid": "bad"}),
            _record("c", "not json"),
            _record("d", {**job, "wamid": ""}),
        ]
    }
    result = app.lambda_handler(event, Context())
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["b", "c", "d"]
