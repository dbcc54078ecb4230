"""A local schedule outlives a failed run, as an EventBridge schedule does.

Before, one exception out of a run (its on-failure record meeting a moto that had
stopped, say) ended the ticker's thread, and the schedule never fired again in that
`make run`. A fake function and a fast clock: the ticker thread runs for real.
"""

from __future__ import annotations

import threading
from typing import Any

from local.async_invoke import AsyncInvokeConfig
from local.lambdas import Invocation
from local.schedules import ScheduleSpec, Ticker


class FlakyFunction:
    """Raises on its first invocation, then succeeds; says when it ran `enough` times."""

    def __init__(self, enough: int) -> None:
        self.calls = 0
        self.enough = enough
        self.done = threading.Event()

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.calls += 1
        if self.calls >= self.enough:
            self.done.set()
        if self.calls == 1:
            raise ConnectionError("moto went away for a moment")
        return Invocation(True, None, None, 1.0)


def test_a_run_that_raises_does_not_end_the_schedule(capfd: Any) -> None:
    function = FlakyFunction(enough=3)
    ticker = Ticker(
        ScheduleSpec("Every", "rate(1 minute)", "arn:aws:events:us-east-1:1:rule/every"),
        function,  # type: ignore[arg-type]
        "us-east-1",
        "123456789012",
        speedup=6000.0,  # every 10 ms
        invoke=AsyncInvokeConfig(max_retries=0),
    )
    ticker.start()
    try:
        assert function.done.wait(timeout=10), f"the schedule stopped after {function.calls}"
    finally:
        ticker.stop()
    assert ticker.runs >= 2  # the runs after the failed one completed
    assert "moto went away for a moment" in capfd.readouterr().err  # and the failure was said
