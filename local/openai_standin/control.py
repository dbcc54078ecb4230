"""What a test scripts: answer rules, faults, and the log of requests received.

Thread-safe: the server answers on several threads while a test adds rules.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from .answers import Rule


@dataclass
class Fault:
    """What the next ``count`` matching requests get instead of an answer.

    ``status`` 429 (with ``retry_after`` seconds in Retry-After) or 5xx; ``delay_ms``
    waits before answering (normally, or with ``status``); ``timeout`` holds the
    request ``hold_seconds`` (default 30) so the client times out. ``path`` limits the
    fault to requests whose path starts with it (e.g. ``/v1/embeddings``), ``match``
    to those whose body matches the regular expression. ``count`` None: every
    matching request until reset. The SDK retries once: a fault meant to reach the
    caller needs ``count`` 2 (or None).
    """

    status: int | None = None
    retry_after: float | None = None
    delay_ms: int = 0
    timeout: bool = False
    hold_seconds: float = 30.0
    count: int | None = 1
    path: str = "/v1/"
    match: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        known = {"status", "retry_after", "delay_ms", "timeout", "hold_seconds", "count"}
        unknown = set(data) - known - {"path", "match"}
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        status = data.get("status")
        if status is not None and not 400 <= int(status) <= 599:
            raise ValueError("fault status must be 4xx or 5xx")
        if data.get("match"):
            re.compile(str(data["match"]))
        return cls(
            status=None if status is None else int(status),
            retry_after=None if data.get("retry_after") is None else float(data["retry_after"]),
            delay_ms=int(data.get("delay_ms") or 0),
            timeout=bool(data.get("timeout", False)),
            hold_seconds=float(data.get("hold_seconds", 30.0)),
            count=None if "count" in data and data["count"] is None else int(data.get("count", 1)),
            path=str(data.get("path") or "/v1/"),
            match=str(data["match"]) if data.get("match") else None,
        )

    def applies(self, path: str, body_text: str) -> bool:
        if not path.startswith(self.path):
            return False
        return self.match is None or re.search(self.match, body_text, re.IGNORECASE) is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "retry_after": self.retry_after,
            "delay_ms": self.delay_ms,
            "timeout": self.timeout,
            "hold_seconds": self.hold_seconds,
            "count": self.count,
            "path": self.path,
            "match": self.match,
        }


class Control:
    """Rules, faults and the request log, shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[Rule] = []
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []

    def add_rules(self, rules: list[Rule]) -> None:
        with self._lock:
            self.rules.extend(rules)

    def rules_snapshot(self) -> list[Rule]:
        with self._lock:
            return list(self.rules)

    def add_faults(self, faults: list[Fault]) -> None:
        with self._lock:
            self.faults.extend(faults)

    def take_fault(self, path: str, body_text: str) -> Fault | None:
        """The first fault for this request, its count used up by one."""
        with self._lock:
            for fault in self.faults:
                if fault.applies(path, body_text):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record(self, method: str, path: str, body: Any, fault: Fault | None) -> None:
        with self._lock:
            self.requests.append(
                {
                    "at": time.time(),
                    "method": method,
                    "path": path,
                    "body": body,
                    "fault": fault.to_json() if fault else None,
                }
            )

    def requests_snapshot(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if path is None or r["path"].startswith(path)]

    def reset(self) -> None:
        with self._lock:
            self.rules.clear()
            self.faults.clear()
            self.requests.clear()
