"""PutEvents in batches, retrying only the entries EventBridge did not take.

PutEvents takes at most 10 entries per call and 256 KB of entries in all, an entry
measured as its Source, DetailType, Detail and Resources in UTF-8 plus 14 bytes for
Time (docs/events.md cites AWS's pages). A call can succeed while some entries fail
(``FailedEntryCount``; each failed result entry has an ``ErrorCode``): those are sent
again, alone, a few times with backoff when the code is one AWS documents as retryable
(``InternalFailure``, ``ThrottlingException``). What still fails raises, so the Facts
function fails the stream records and Lambda retries them; the entries that did go
are sent again then, which is why every detail carries the fact's id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from wacloud.errors import InputError, TransientError
from wacloud.infra.aws import events
from wacloud.infra.batching import chunks, send_retrying_failed

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
_TIME_BYTES = 14
RETRYABLE = frozenset({"InternalFailure", "ThrottlingException"})
#: Calls per batch: the first and three retries of what failed (0.2, 0.4, 0.8 s apart).
ATTEMPTS = 4
BACKOFF_SECONDS = 0.2

# Replaced in tests, so retries do not wait.
sleep: Callable[[float], None] = time.sleep


class EventsNotPublishedError(TransientError, RuntimeError):
    """EventBridge did not take some entries after the retries; the batch is retried."""


class EventTooLargeError(InputError, ValueError):
    """One entry is larger than PutEvents accepts (no fact's detail comes near)."""


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it against the 256 KB."""
    size = _TIME_BYTES if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key, "")).encode())
    return size + sum(len(r.encode()) for r in entry.get("Resources", ()))


def batches(entries: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The entries in order, in calls of at most 10 entries and 256 KB."""
    for entry in entries:
        if (this := entry_size(entry)) > MAX_REQUEST_BYTES:
            raise EventTooLargeError(f"a {entry['DetailType']} entry is {this} bytes")
    return chunks(entries, max_count=MAX_ENTRIES, max_bytes=MAX_REQUEST_BYTES, size=entry_size)


def put(entries: Sequence[dict[str, Any]]) -> int:
    """Put every entry, in order; the number of PutEvents calls made."""
    calls = 0
    for batch in batches(entries):
        calls += _put_batch(batch)
    return calls


def _put_batch(batch: list[dict[str, Any]]) -> int:
    calls, left, codes = send_retrying_failed(
        _send,
        batch,
        attempts=ATTEMPTS,
        backoff=BACKOFF_SECONDS,
        retryable=RETRYABLE.__contains__,
        sleep=sleep,  # the module's, replaced in tests
    )
    if not left:
        return calls
    if not codes <= RETRYABLE:
        raise EventsNotPublishedError(f"EventBridge refused {len(left)} entries: {sorted(codes)}")
    raise EventsNotPublishedError(
        f"EventBridge did not take {len(left)} entries after {ATTEMPTS} calls: {sorted(codes)}"
    )


def _send(entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """One PutEvents call; the entries it failed, with their error codes."""
    response = events().put_events(Entries=entries)
    if not response.get("FailedEntryCount"):
        return []
    results = response.get("Entries") or []
    return [
        (entry, str(result["ErrorCode"]))
        for entry, result in zip(entries, results, strict=True)
        if result.get("ErrorCode")
    ]
