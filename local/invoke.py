"""One function, once, against the running local stack: `python -m local invoke`.

`make run` writes .local-state/env.json: for each function (logical id), the environment
the local stack gives it, every template variable resolved against the stack (the names of
the tables, queues, bucket and secrets in moto, the emulator's URL as GRAPH_API_BASE_URL),
and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB pointing boto3 at moto. It is in SAM
CLI's --env-vars format, so where Docker runs,

    sam local invoke WebhookVerifyFunction -e events/webhook_verify.json \\
        --env-vars .local-state/env.json --docker-network host --region us-east-1

runs the built function in Lambda's container against the same stack (SAM CLI only sets
variables the template declares: the template declares the two endpoint variables for
this, removed on AWS). Without Docker, `python -m local invoke` runs the same handler in a
Lambda-like process (local/lambdas.py) with that environment and prints its result as
JSON on stdout; the handler's logs go to stderr, as `sam local invoke` does.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.lambdas import FunctionSpec, Invocation, LocalFunction, runtime_environment
from local.template import REPO_ROOT, load_sam_template, translate

if TYPE_CHECKING:
    from local.stack import LocalStack

ENV_VARS_FILE = REPO_ROOT / ".local-state" / "env.json"
# Set per process by local/lambdas.py (and by Lambda's runtime): not configuration.
_PER_PROCESS = {"PATH", "HOME", "LANG", "TMPDIR", "LAMBDA_TASK_ROOT", "PYTHONDONTWRITEBYTECODE"}


def env_vars(stack: LocalStack) -> dict[str, dict[str, str]]:
    """Each function's environment on `stack`, as SAM CLI's --env-vars file holds it."""
    return {
        logical_id: {
            key: value
            for key, value in sorted(stack.function_environment(logical_id).items())
            if key not in _PER_PROCESS and not key.startswith("AWS_LAMBDA_")
        }
        for logical_id in sorted(stack.functions)
    }


def write_env_vars(stack: LocalStack, path: Path = ENV_VARS_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(env_vars(stack), indent=2) + "\n")
    return path


def invoke(logical_id: str, event: Any, env_vars_file: Path = ENV_VARS_FILE) -> Invocation:
    """Run `logical_id`'s handler once on `event` with the environment `env_vars_file`
    gives it (a cold start: a fresh process, its own imports)."""
    if not env_vars_file.exists():
        raise LookupError(f"{env_vars_file} not found: start the local stack with `make run`")
    environments: dict[str, dict[str, str]] = json.loads(env_vars_file.read_text())
    sam = load_sam_template()
    resource = sam["Resources"].get(logical_id)
    if resource is None or resource["Type"] != "AWS::Serverless::Function":
        functions = sorted(
            k for k, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
        )
        raise LookupError(f"no function {logical_id!r} in template.yaml: {', '.join(functions)}")
    if logical_id not in environments:
        raise LookupError(f"{env_vars_file} has no {logical_id}: restart `make run`")
    props = translate(sam, "us-east-1")["Resources"][logical_id]["Properties"]
    code_dir = (REPO_ROOT / resource["Properties"]["CodeUri"]).resolve()
    env = {k: v for k, v in os.environ.items() if k in _PER_PROCESS}
    env.update(runtime_environment(logical_id, props, code_dir))
    env.update(environments[logical_id])
    spec = FunctionSpec.from_properties(
        logical_id,
        props,
        code_dir,
        env,
        # The handler's logs (and EMF lines) to stderr: stdout carries only the result.
        log_file=Path("/dev/stderr"),
    )
    function = LocalFunction(spec, env, concurrency=1)
    try:
        return function.invoke(event)
    finally:
        function.close()


def main(logical_id: str, event_file: str, env_vars_file: str | None = None) -> int:
    try:
        event = json.loads(Path(event_file).read_text())
        result = invoke(logical_id, event, Path(env_vars_file) if env_vars_file else ENV_VARS_FILE)
    except (LookupError, OSError, ValueError) as exc:
        print(f"python -m local invoke: {exc}", file=sys.stderr)
        return 2
    if not result.ok:
        print(result.error, file=sys.stderr)
        return 1
    print(json.dumps(result.payload, indent=2, default=str))
    return 0
