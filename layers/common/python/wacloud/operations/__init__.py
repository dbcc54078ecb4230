"""Operations: the stack's queues, dead-letter queues, redrives and health, for operators
(#13).

Public names (the operator API imports this package, never its modules).
"""

from __future__ import annotations

from .health import UnknownNumberError, report
from .queues import (
    PEEK_MAX,
    QueueDepth,
    RedriveRefusedError,
    UnknownQueueError,
    dead_letter_queue,
    depths,
    latest_redrive,
    peek,
    start_redrive,
)

__all__ = [
    "PEEK_MAX",
    "QueueDepth",
    "RedriveRefusedError",
    "UnknownNumberError",
    "UnknownQueueError",
    "dead_letter_queue",
    "depths",
    "latest_redrive",
    "peek",
    "report",
    "start_redrive",
]
