"""Batch calls to AWS APIs that take many entries: chunks within a call's limits, and
sending again only the entries a call reported failed.

SQS SendMessageBatch, EventBridge PutEvents and Firehose PutRecordBatch all cap a
call by entries and bytes, and all can succeed while some entries fail; each caller
states its limits and how to read its failures here, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence


def chunks[T](
    items: Iterable[T], *, max_count: int, max_bytes: int, size: Callable[[T], int]
) -> Iterator[list[T]]:
    """The items in order, in chunks of at most ``max_count`` items and ``max_bytes``
    (by ``size``). An item larger than ``max_bytes`` alone is a chunk of its own:
    callers that must refuse one check it first."""
    chunk: list[T] = []
    total = 0
    for item in items:
        this = size(item)
        if chunk and (len(chunk) >= max_count or total + this > max_bytes):
            yield chunk
            chunk, total = [], 0
        chunk.append(item)
        total += this
    if chunk:
        yield chunk


def send_retrying_failed[T](
    send: Callable[[list[T]], Sequence[tuple[T, str]]],
    entries: list[T],
    *,
    attempts: int,
    backoff: float,
    retryable: Callable[[str], bool] = lambda code: True,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, list[T], set[str]]:
    """Call ``send`` (which returns the entries it failed, with their error codes) and
    send the failed ones again, up to ``attempts`` calls in all, waiting ``backoff``,
    then twice as long, between them. Stops early when a code is not ``retryable``.

    Returns (calls made, entries still failed, their codes): callers raise their own
    error when some are left, naming codes, never the entries' content."""
    pending, codes = entries, set[str]()
    for attempt in range(attempts):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        failed = send(pending)
        pending = [entry for entry, _ in failed]
        codes = {code for _, code in failed}
        if not pending:
            return attempt + 1, [], set()
        if not all(retryable(code) for code in codes):
            return attempt + 1, pending, codes
    return attempts, pending, codes
