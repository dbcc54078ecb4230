"""Cold start: which functions import pydantic at init (issue #11, "Performance").

pydantic and the models are most of a function's import time. A function whose
calls do not all validate something loads them on first use instead (see
`wacloud.models`, `wacloud.campaigns`, `wacloud.workflows`); this pins that, so an
eager import added later shows up here rather than as a slower `make bench`
(`python -m bench coldstart` measures the figures).

Each import runs in a fresh interpreter: this process has imported pydantic already.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common" / "python"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/cold-"
ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TABLE_NAME": "cold-table",
    "META_SECRET_ID": "cold-secret",
    "IDEMPOTENCY_TABLE_NAME": "cold-idempotency",
    "MEDIA_BUCKET": "cold-media",
    "INBOUND_QUEUE_URL": QUEUE + "inbound",
    "OUTBOUND_QUEUE_URL": QUEUE + "outbound",
}
# Functions whose module-level imports must not load pydantic.
WITHOUT_PYDANTIC = (
    "webhook_verify",
    "webhook_receive",
    "inbound_processor",
    "queue_processor",
    "campaign_control",
    "workflow_trigger",
    "template_sync",
)
_PROBE = (
    "import sys, app; "
    "print(','.join(sorted(m for m in ('pydantic', 'pydantic_core') if m in sys.modules)))"
)


@pytest.mark.parametrize("function", WITHOUT_PYDANTIC)
def test_function_imports_no_pydantic_at_init(function: str) -> None:
    directory = ROOT / "functions" / function
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=directory,
        env={**ENV, "PYTHONPATH": os.pathsep.join([str(directory), str(LAYER)])},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "", f"{function} imports {proc.stdout.strip()} at init"
