"""Wait for a condition on the local stack: one helper for the demos and the tests.

Everything on the stack is asynchronous (queues, pollers, webhooks), so demos and
tests poll for the state they expect. A timeout raises `WaitTimeoutError`, which is both a
`TimeoutError` (what the demos catch) and an `AssertionError` (a failed expectation, as
pytest reports it).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class WaitTimeoutError(TimeoutError, AssertionError):
    """The condition did not hold in time."""


def wait_for[T](
    what: str, check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.05
) -> T:
    """Call `check` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"timed out after {timeout:g}s waiting for: {what}")
        time.sleep(interval)
