"""Per-number settings kept a short while in a warm container.

Tenant config, the assistant's settings and moderation's settings are each read on
every message and change rarely: each container keeps what it read for a number for
`seconds` (a change is seen within that, at once by the container that wrote it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class PerNumberCache[T]:
    """Values by phone number id, each good for `seconds` from when it was loaded.

    `clock` is called on every use (pass ``lambda: now()`` so a test that replaces the
    module's `now` moves this clock too)."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._seconds = seconds
        self._clock = clock
        self._values: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, phone_number_id: str, load: Callable[[str], T]) -> T:
        """The cached value, or `load(phone_number_id)` (outside the lock), kept."""
        with self._lock:
            hit = self._values.get(phone_number_id)
        if hit and hit[0] > self._clock():
            return hit[1]
        value = load(phone_number_id)
        self.put(phone_number_id, value)
        return value

    def put(self, phone_number_id: str, value: T) -> None:
        with self._lock:
            self._values[phone_number_id] = (self._clock() + self._seconds, value)

    def forget(self, phone_number_id: str) -> None:
        with self._lock:
            self._values.pop(phone_number_id, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
