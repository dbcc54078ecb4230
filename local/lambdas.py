"""Lambda execution environments on this machine: one process per concurrent instance.

Each function's handler runs in its own spawned process with exactly the environment
the template gives it, the function's code directory and the common layer on
sys.path, and a context object shaped like Lambda's. A process that crashes or runs
past the function's timeout is killed and replaced (a new cold start), as Lambda does.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import queue
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local.template import REPO_ROOT

LAYER_PATH = REPO_ROOT / "layers" / "common" / "python"
INIT_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_mb: int
    environment: dict[str, str] = field(default_factory=dict)
    # "module:function" hooks run in the execution environment before the handler is
    # imported: how tests inject crashes and faults without touching runtime code.
    preload: tuple[str, ...] = ()
    # Where the environment's stdout/stderr go (None: this process's).
    log_file: Path | None = None
    # Keep the EMF documents the function prints and hand them to the stack with each
    # invocation's result, as CloudWatch Logs turns them into metrics (local/emf.py).
    emf: bool = False

    @property
    def name(self) -> str:
        return self.logical_id

    @classmethod
    def from_properties(
        cls,
        logical_id: str,
        props: dict[str, Any],
        code_dir: Path,
        environment: dict[str, str],
        **local: Any,
    ) -> FunctionSpec:
        """A function of the translated template (`props`: Handler, Timeout, MemorySize
        with Lambda's defaults); `local` sets the fields that only exist here."""
        return cls(
            logical_id=logical_id,
            code_dir=code_dir,
            handler=props["Handler"],
            timeout=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            environment=environment,
            **local,
        )


def runtime_environment(logical_id: str, props: dict[str, Any], code_dir: Path) -> dict[str, str]:
    """The variables Lambda's runtime itself sets for a function (translated `props`)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{props.get('Runtime', 'python3.13')}",
        "LAMBDA_TASK_ROOT": str(code_dir),
        # No X-Ray daemon on this machine; Powertools would otherwise try to reach one.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@dataclass(frozen=True)
class Invocation:
    ok: bool
    payload: Any
    error: str | None
    duration_ms: float


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(
        self, spec_name: str, memory_mb: int, timeout: int, region: str, account: str
    ) -> None:
        self.function_name = spec_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{spec_name}"
        self.log_group_name = f"/aws/lambda/{spec_name}"
        self.log_stream_name = "local"
        self.aws_request_id = uuid.uuid4().hex
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _worker_main(conn: Connection, spec: FunctionSpec, env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)
    if spec.log_file is not None:
        log = spec.log_file.open("a", buffering=1)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    sys.path[:0] = [str(spec.code_dir), str(LAYER_PATH), str(REPO_ROOT)]
    tap = None
    if spec.emf:
        from local.emf import EmfTap

        tap = EmfTap(sys.stdout)
        sys.stdout = tap
    for hook in spec.preload:
        hook_module, _, hook_function = hook.partition(":")
        getattr(importlib.import_module(hook_module), hook_function)()
    module_name, _, function_name = spec.handler.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # an init error: reported on the first invocation, as Lambda does
        conn.send(("init_error", f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc()}"))
        return
    conn.send(("ready", None))
    region = env.get("AWS_REGION", "us-east-1")
    account = env.get("LOCAL_ACCOUNT_ID", "123456789012")
    while True:
        try:
            event = conn.recv()
        except EOFError:
            return
        context = LambdaContext(spec.name, spec.memory_mb, spec.timeout, region, account)
        try:
            result = handler(event, context)
            outcome: tuple[str, Any] = ("ok", result)
        except Exception as exc:
            outcome = ("error", f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc()}")
        documents = tap.take() if tap is not None else []
        if documents:
            conn.send(("emf", documents))
        conn.send(outcome)


class _Worker:
    def __init__(self, spec: FunctionSpec, env: dict[str, str]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, spec, env), daemon=True, name=f"lambda-{spec.name}"
        )
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self, timeout: float) -> str | None:
        """Wait for the init phase (imports); None when ready, else the init error.

        Lambda gives init its own time budget (10 s), separate from the function's
        timeout; locally it is more generous, since a loaded machine imports slowly.
        """
        if self.ready:
            return None
        if not self.conn.poll(timeout):
            return f"init did not finish within {timeout:.0f} s"
        kind, payload = self.conn.recv()
        if kind != "ready":
            return str(payload)
        self.ready = True
        return None

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class LocalFunction:
    """Invoke a function synchronously; up to `concurrency` invocations run at once."""

    def __init__(
        self,
        spec: FunctionSpec,
        env: dict[str, str],
        concurrency: int = 1,
        on_metrics: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.spec = spec
        self._on_metrics = on_metrics
        self._env = env
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(concurrency):
            self._idle.put(_Worker(spec, env))

    def invoke(self, event: dict[str, Any]) -> Invocation:
        worker = self._idle.get()
        started = time.perf_counter()
        try:
            init_error = worker.wait_ready(INIT_TIMEOUT_SECONDS)
            if init_error is not None:
                raise RuntimeError(f"Runtime.InitError: {init_error}")
            worker.conn.send(event)
            if not worker.conn.poll(self.spec.timeout + 1):
                raise TimeoutError(f"Task timed out after {self.spec.timeout} seconds")
            kind, payload = worker.conn.recv()
            while kind == "emf":  # the invocation's EMF documents, then its result
                if self._on_metrics is not None:
                    self._on_metrics(payload)
                kind, payload = worker.conn.recv()
        except (EOFError, OSError, TimeoutError, BrokenPipeError, RuntimeError) as exc:
            # The execution environment died or hung: Lambda replaces it (cold start).
            worker.kill()
            worker = _Worker(self.spec, self._env) if not self._closed else worker
            return Invocation(
                False,
                None,
                f"{exc.__class__.__name__}: {exc or 'process exited'}",
                (time.perf_counter() - started) * 1000,
            )
        finally:
            self._idle.put(worker)
        duration = (time.perf_counter() - started) * 1000
        if kind == "ok":
            return Invocation(True, payload, None, duration)
        return Invocation(False, None, str(payload), duration)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return
