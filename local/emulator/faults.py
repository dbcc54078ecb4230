"""Deterministic fault injection (seeded): forced errors, 5xx rates, latency, timeouts."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from .errors import GraphError


@dataclass
class _Forced:
    code: int
    remaining: int
    path_contains: str | None
    method: str | None
    details: str
    http_status: int | None


@dataclass
class _Rate:
    rate: float
    path_contains: str | None
    code: int


class Faults:
    """Decides, per API request, whether to delay it or answer with an error.

    Control endpoints (``/_emulator/``) are never affected.
    """

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed ^ 0x5EED)
        self._forced: list[_Forced] = []
        self._rates: list[_Rate] = []
        self._latency: tuple[float, float] | None = None
        self._latency_path: str | None = None
        self._timeouts: list[tuple[int, float, str | None]] = []  # remaining, hold s, path
        self._slow: list[tuple[int, float, str | None]] = []  # answered, then held

    def force_error(
        self,
        code: int,
        *,
        times: int = 1,
        path_contains: str | None = None,
        method: str | None = None,
        details: str = "Injected by the emulator",
        http_status: int | None = None,
    ) -> None:
        """The next ``times`` matching requests fail with ``code`` (Meta's envelope)."""
        with self._lock:
            self._forced.append(_Forced(code, times, path_contains, method, details, http_status))

    def set_error_rate(
        self, rate: float, *, path_contains: str | None = None, code: int = 131000
    ) -> None:
        """A fraction (0..1) of matching requests fail; default 131000 (HTTP 500)."""
        with self._lock:
            self._rates = [r for r in self._rates if r.path_contains != path_contains]
            if rate > 0:
                self._rates.append(_Rate(rate, path_contains, code))

    def set_latency_ms(
        self,
        ms: float | None = None,
        *,
        low: float | None = None,
        high: float | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Fixed latency (``ms``) or uniform in [low, high]; ``None`` clears it."""
        with self._lock:
            self._latency_path = path_contains
            if ms is not None:
                self._latency = (ms / 1000.0, ms / 1000.0)
            elif low is not None and high is not None:
                self._latency = (low / 1000.0, high / 1000.0)
            else:
                self._latency = None

    def add_timeout(
        self, *, times: int = 1, hold_seconds: float = 30.0, path_contains: str | None = None
    ) -> None:
        """The next ``times`` matching requests are held ``hold_seconds`` and then answered
        131000/500, so a client's timeout fires first."""
        with self._lock:
            self._timeouts.append((times, hold_seconds, path_contains))

    def add_slow_response(
        self, *, times: int = 1, hold_seconds: float = 30.0, path_contains: str | None = None
    ) -> None:
        """The next ``times`` matching requests are *handled* (a message is accepted and
        its webhooks follow) but the answer is held ``hold_seconds``: a client timing out
        cannot know Meta has the message."""
        with self._lock:
            self._slow.append((times, hold_seconds, path_contains))

    def hold_after(self, path: str) -> float:
        """Seconds to hold the answer to a request that was handled (add_slow_response)."""
        with self._lock:
            for i, (remaining, hold, pc) in enumerate(self._slow):
                if pc is None or pc in path:
                    if remaining <= 1:
                        self._slow.pop(i)
                    else:
                        self._slow[i] = (remaining - 1, hold, pc)
                    return hold
            return 0.0

    def clear(self) -> None:
        with self._lock:
            self._slow.clear()
            self._forced.clear()
            self._rates.clear()
            self._latency = None
            self._timeouts.clear()

    def plan(self, method: str, path: str) -> tuple[float, GraphError | None]:
        """Returns (seconds to wait, error or None) for one request."""
        with self._lock:
            delay = 0.0
            if self._latency and (self._latency_path is None or self._latency_path in path):
                lo, hi = self._latency
                delay = lo if lo == hi else self._rng.uniform(lo, hi)
            for i, (remaining, hold, pc) in enumerate(self._timeouts):
                if pc is None or pc in path:
                    if remaining <= 1:
                        self._timeouts.pop(i)
                    else:
                        self._timeouts[i] = (remaining - 1, hold, pc)
                    return delay + hold, GraphError(131000, "Injected timeout")
            for f in self._forced:
                if (
                    f.remaining > 0
                    and (f.path_contains is None or f.path_contains in path)
                    and (f.method is None or f.method.upper() == method)
                ):
                    f.remaining -= 1
                    self._forced = [x for x in self._forced if x.remaining > 0]
                    return delay, GraphError(f.code, f.details, http_status=f.http_status)
            for r in self._rates:
                if (
                    r.path_contains is None or r.path_contains in path
                ) and self._rng.random() < r.rate:
                    return delay, GraphError(r.code, "Injected failure")
            return delay, None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "forced": [f.__dict__ for f in self._forced],
                "rates": [r.__dict__ for r in self._rates],
                "latency_s": self._latency,
                "timeouts": self._timeouts,
                "slow_responses": self._slow,
            }
