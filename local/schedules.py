"""EventBridge schedules: invoke scheduled functions with Scheduled Event payloads at
the template's rates, optionally faster (`speedup`) so a local run shows them working.

EventBridge invokes a schedule's target asynchronously, so the function's
EventInvokeConfig applies: retries, then the on-failure destination
(local/async_invoke.py). The rule target's DeadLetterConfig is not modelled (it takes
what EventBridge cannot hand to Lambda at all, which a local stack cannot produce)."""

from __future__ import annotations

import re
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from local.async_invoke import AsyncInvokeConfig, invoke_async
from local.lambdas import Invocation, LocalFunction

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> float:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        raise ValueError(f"unsupported schedule expression {expression!r} (only rate() locally)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def scheduled_event(rule_arn: str, region: str, account: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


@dataclass(frozen=True)
class ScheduleSpec:
    logical_id: str
    expression: str
    rule_arn: str


class Ticker:
    def __init__(
        self,
        spec: ScheduleSpec,
        function: LocalFunction,
        region: str,
        account: str,
        speedup: float = 1.0,
        *,
        invoke: AsyncInvokeConfig | None = None,
        sqs: Any = None,
    ) -> None:
        self.spec = spec
        self._invoke = invoke or AsyncInvokeConfig()
        self._sqs = sqs
        self.period = rate_seconds(spec.expression) / max(speedup, 1e-6)
        self._function = function
        self._region, self._account = region, account
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"ticker-{spec.logical_id}"
        )
        self.runs = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def fire(self) -> Invocation:
        """One scheduled run, invoked as EventBridge does; the final attempt's result."""
        event = scheduled_event(self.spec.rule_arn, self._region, self._account)
        outcome = invoke_async(self._function, event, self._invoke, self._sqs)
        self.runs += 1
        return outcome

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.fire()
            except Exception:  # a schedule outlives any one failed run, as EventBridge's does
                if not self._stop.is_set():  # stopping: moto may already be gone
                    traceback.print_exc()
