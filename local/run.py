"""`make run`: start the stack and keep it up until Ctrl-C."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

from local.emulator import DEFAULT_PHONE_NUMBER_ID
from local.invoke import write_env_vars
from local.operator_auth import LOCAL_PASSWORDS
from local.stack import LocalStack, LocalStackConfig
from local.template import REPO_ROOT

STATE_FILE = REPO_ROOT / ".local-state" / "stack.json"


def run_forever(
    *,
    port: int,
    emulator_port: int,
    moto_port: int,
    speedup: float,
    openai_port: int = 0,
    auth_port: int = 0,
) -> int:
    stack = LocalStack(
        LocalStackConfig(
            gateway_port=port,
            emulator_port=emulator_port,
            moto_port=moto_port,
            openai_port=openai_port,
            auth_port=auth_port,
            schedule_speedup=speedup,
        )
    )
    stack.start()
    assert stack.emulator is not None and stack.openai is not None
    emulator = stack.emulator.url
    openai = stack.openai.url
    auth = stack.operator_auth
    assert auth is not None
    for role, password in LOCAL_PASSWORDS.items():
        auth.create_user(role, role, password)
    api = stack.outputs["OperatorApiUrl"]
    print(
        f"""
wacloud is running locally (Ctrl-C to stop)
  webhook URL    {stack.webhook_url}
  emulator (Meta) {emulator}   token: {stack.config.access_token}
  moto (AWS)     {stack.moto_url}  (DynamoDB: {stack.dynamodb_url})
  OpenAI stand-in {openai}/v1   (script it: POST {openai}/_standin/rules, /faults)
  outbound queue {stack.outputs.get("OutboundQueueUrl")}

Talk to it as a customer:
  .venv/bin/python -m local.emulator --emulator {emulator} send-text --from 15551234567 --body hi
  .venv/bin/python -m local.emulator --emulator {emulator} sent      # what the business sent
Send as the business (puts a submission on the outbound queue):
  .venv/bin/python -m local submit '{{"to":"15551234567","type":"text","text":{{"body":"hello"}}}}'

The event lake (docs/lake.md), with the same SQL Athena runs:
  .venv/bin/python -m local lake funnel --from YYYY-MM-DD --to YYYY-MM-DD

Web console {stack.console_url}
  sign in as `admin` (password {LOCAL_PASSWORDS["admin"]}) or `agent` ({LOCAL_PASSWORDS["agent"]})

Operator API {api}/v1  (OpenAPI document: {api}/v1/openapi.json)
  users `admin` (password {LOCAL_PASSWORDS["admin"]}), `agent` ({LOCAL_PASSWORDS["agent"]}):
  .venv/bin/wacloud --profile local login --api-url {api} --number {DEFAULT_PHONE_NUMBER_ID} \\
      --client-id {auth.cli_client_id} --cognito-endpoint {auth.cognito_endpoint} --username admin
  .venv/bin/wacloud --profile local conversations list
  apps (client credentials): token URL {auth.token_url}
      client id {auth.app_client_id}, secret {auth.app_client_secret()}
""",
        flush=True,
    )
    STATE_FILE.parent.mkdir(exist_ok=True)
    STATE_FILE.write_text(
        json.dumps(
            {
                "outputs": stack.outputs,
                "moto_url": stack.moto_url,
                "emulator_url": emulator,
                "openai_url": openai,
                "operator_api_url": api,
                "console_url": stack.console_url,
                "cli_client_id": auth.cli_client_id,
                "cognito_endpoint": auth.cognito_endpoint,
                "environment": stack.function_environment("SenderFunction"),
            }
        )
    )
    env_file = write_env_vars(stack)
    print(
        f"""Invoke one function against it (environment per function: {env_file.name}):
  .venv/bin/python -m local invoke WebhookVerifyFunction -e events/webhook_verify.json
  sam local invoke WebhookVerifyFunction -e events/webhook_verify.json \\
      --env-vars {env_file.relative_to(REPO_ROOT)} --docker-network host \\
      --region {stack.config.region}
""",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    print("stopping...", flush=True)
    stack.stop()
    STATE_FILE.unlink(missing_ok=True)
    env_file.unlink(missing_ok=True)
    return 0


def _attach_to_running_stack() -> dict[str, Any] | None:
    """Take the running stack's environment (written by `make run`) into this process
    and put the runtime core on the path; the stack's state, or None (said on stderr)
    if none runs."""
    import os
    import sys

    if not STATE_FILE.exists():
        print("no local stack is running (start it with `make run`)", file=sys.stderr)
        return None
    state: dict[str, Any] = json.loads(STATE_FILE.read_text())
    os.environ.update(state["environment"])
    sys.path.insert(0, str(REPO_ROOT / "layers" / "common" / "python"))
    return state


def erase_on_running_stack(wa_id: str, phone_number_id: str | None) -> int:
    """Erase a customer on the running stack (`python -m local erase`), as the deployed
    QueueProcessor's `erase_customer` control does (README, "Operating")."""

    if _attach_to_running_stack() is None:
        return 2
    from wacloud.erasure import erase_customer
    from wacloud.infra.aws import s3
    from wacloud.infra.config import settings

    bucket = settings().media_bucket
    report = erase_customer(
        phone_number_id or DEFAULT_PHONE_NUMBER_ID,
        wa_id,
        media_store=s3() if bucket else None,
        media_bucket=bucket,
    )
    print(json.dumps(report.as_dict()))
    return 0


def submit_to_running_stack(document: str) -> int:
    """Put one submission on the running stack's outbound queue (`python -m local submit`)."""

    if _attach_to_running_stack() is None:
        return 2
    from wacloud.infra.queues import submit

    submission = json.loads(document)
    submission.setdefault("phone_number_id", DEFAULT_PHONE_NUMBER_ID)
    submit(submission)
    print("queued")
    return 0


def query_lake_on_running_stack(query: str, first: str, last: str) -> int:
    """Run a lake query over the running stack's lake (`python -m local lake`): the days'
    files are copied from its lake bucket (moto S3), then DuckDB answers the same SQL
    Athena runs on AWS (docs/lake.md)."""
    import tempfile
    from pathlib import Path

    if (state := _attach_to_running_stack()) is None:
        return 2
    from wacloud.infra.aws import s3
    from wacloud.lake.duck import download
    from wacloud.lake.duck import query as run_query

    with tempfile.TemporaryDirectory(prefix="wacloud-lake-") as tmp:
        download(s3(), state["outputs"]["LakeBucketName"], first, last, Path(tmp))
        for row in run_query(query, Path(tmp), first, last):
            print(json.dumps(row, default=str))
    return 0
