"""EventBridge schedules: invoke scheduled functions with Scheduled Event payloads at
the template's rates, optionally faster (`speedup`) so a local run shows them working."""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from local.lambdas import LocalFunction

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
    ) -> None:
        self.spec = spec
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

    def fire(self) -> Any:
        outcome = self._function.invoke(
            scheduled_event(self.spec.rule_arn, self._region, self._account)
        )
        self.runs += 1
        return outcome

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.fire()
