"""Deterministic identifiers (seeded) so a test run with the same seed sees the same ids."""

from __future__ import annotations

import base64
import random
import string
import threading


class IdFactory:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._counter = 0

    def _hex(self, n: int) -> str:
        return "".join(self._rng.choice("0123456789ABCDEF") for _ in range(n))

    def wamid(self, wa_id: str) -> str:
        """Shaped like Meta's: ``wamid.`` + base64 of an opaque blob that embeds the wa_id."""
        with self._lock:
            blob = b"\x15\x02\x00\x11\x18" + wa_id.encode() + b"\x15\x02\x00\x12\x18\x14"
            blob += self._hex(20).encode() + b"\x00"
            return "wamid." + base64.b64encode(blob).decode().rstrip("=")

    def numeric(self, prefix: str = "9") -> str:
        """15-16 digit Graph-style object id, unique within this emulator."""
        with self._lock:
            self._counter += 1
            return f"{prefix}{self._rng.randrange(10**8):08d}{self._counter:06d}"

    def fbtrace(self) -> str:
        with self._lock:
            alphabet = string.ascii_letters + string.digits + "-_"
            return "".join(self._rng.choice(alphabet) for _ in range(23))

    def conversation(self) -> str:
        with self._lock:
            return self._hex(32).lower()

    def token(self, n: int = 32) -> str:
        with self._lock:
            return "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(n))

    def random(self) -> float:
        with self._lock:
            return self._rng.random()
