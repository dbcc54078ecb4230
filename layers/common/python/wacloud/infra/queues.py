"""SQS hand-offs: webhook items to the inbound queue, submissions to the outbound queue.

Bodies larger than fit comfortably in an SQS message are written to S3 and replaced
by a pointer (`{"s3_pointer": {"bucket", "key"}}`), so a 3 MB webhook is never
rejected or truncated.

Pointers cannot be forged into reading anything else: a spilled body is stored
content-addressed at ``webhooks/<sha256 of the body>.json`` in the stack's media
bucket, and ``resolve_body`` follows a pointer only to that bucket and a key of
exactly that form, and only returns an object whose bytes hash to the digest in its
key. Whoever can put a pointer on a queue can therefore name only a body some writer
of this stack spilled -- never customers' media, campaign lists or parked webhooks --
which it could as well have queued inline. No key or stack secret is involved.

The same prefix holds webhooks WebhookReceive parks (signed, but not readable as a
webhook): ``webhooks/unparsed/<sha256>.json``, a key a pointer can never name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cache
from typing import Any

from wacloud.errors import QueueError
from wacloud.infra.aws import s3, sqs
from wacloud.infra.batching import chunks
from wacloud.infra.config import settings

# SQS allows 256 KiB per message *and* per batch; stay well below to leave room for
# attributes and for several items sharing one SendMessageBatch call.
INLINE_LIMIT_BYTES = 64 * 1024
BATCH_BYTES_LIMIT = 240 * 1024
SPILL_PREFIX = "webhooks/"
PARK_PREFIX = "webhooks/unparsed/"
_SPILL_KEY = re.compile(r"webhooks/([0-9a-f]{64})\.json")
_POINTER_START = '{"s3_pointer"'

# SendMessageBatch calls in flight at once: 1,000 items are 100 calls, about 10
# rounds instead of 100 sequential ones (boto3 clients are thread-safe; the client's
# connection pool holds 50).
SEND_CONCURRENCY = 10


class EnqueueError(QueueError, RuntimeError):
    """Some items could not be queued; the caller must not acknowledge them."""


class ForgedPointerError(QueueError, ValueError):
    """A queued ``s3_pointer`` this stack did not write (or whose object changed).

    The message names the reason only, never the bucket or key it asked for.
    """


def spill_key(body: bytes) -> str:
    return f"{SPILL_PREFIX}{hashlib.sha256(body).hexdigest()}.json"


def _spill_if_large(body: str, bucket: str | None) -> str:
    data = body.encode()
    if len(data) <= INLINE_LIMIT_BYTES:
        return body
    if not bucket:
        raise EnqueueError("item exceeds the inline SQS size and no media bucket is configured")
    key = spill_key(data)
    s3().put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")
    return json.dumps({"s3_pointer": {"bucket": bucket, "key": key}})


def resolve_body(body: str) -> str:
    """The original body of a queued item, fetching it from S3 if it was spilled.

    Raises ``ForgedPointerError`` for a pointer this stack cannot have written (see
    the module docstring); the caller leaves such an item to its dead-letter queue.
    """
    if not body.startswith(_POINTER_START):
        return body
    try:
        document = json.loads(body)
    except ValueError:
        raise ForgedPointerError("pointer is not JSON") from None
    pointer = document.get("s3_pointer") if isinstance(document, dict) else None
    if not isinstance(pointer, dict) or len(document) != 1:
        raise ForgedPointerError("pointer is not {s3_pointer: {bucket, key}}")
    bucket, key = pointer.get("bucket"), pointer.get("key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise ForgedPointerError("pointer is not {s3_pointer: {bucket, key}}")
    if not bucket or bucket != settings().media_bucket:
        raise ForgedPointerError("pointer names a bucket other than the media bucket")
    named = _SPILL_KEY.fullmatch(key)
    if named is None:
        raise ForgedPointerError("pointer names a key outside the spill prefix")
    data = s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    if hashlib.sha256(data).hexdigest() != named.group(1):
        raise ForgedPointerError("spilled object does not match the digest in its key")
    return data.decode()


def park_webhook(body: bytes, bucket: str | None) -> str:
    """Store a signed body that is not a readable webhook; return its key.

    Content-addressed, so the same body is one object however often it arrives.
    Raises if it cannot be stored: the caller answers 500 and Meta retries.
    """
    if not bucket:
        raise EnqueueError("cannot park a webhook: no media bucket is configured")
    key = f"{PARK_PREFIX}{hashlib.sha256(body).hexdigest()}.json"
    s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/octet-stream")
    return key


def send_bodies(
    queue_url: str, bodies: Sequence[str], *, delay_seconds: int = 0, bucket: str | None = None
) -> None:
    """Queue every body: batches of up to 10 sent concurrently, partial failures retried
    once. Raises if any body is not queued (after every call has finished)."""
    large = [i for i, b in enumerate(bodies) if len(b) * 4 > INLINE_LIMIT_BYTES]
    messages = list(bodies)
    if large:
        s3()  # made here, not raced for by the pool's threads
        spilled = _run_all(lambda i: _spill_if_large(bodies[i], bucket), large)
        for i, message in zip(large, spilled, strict=True):
            messages[i] = message
    entries = [
        {
            "Id": str(i),
            "MessageBody": m,
            **({"DelaySeconds": delay_seconds} if delay_seconds else {}),
        }
        for i, m in enumerate(messages)
    ]
    client = sqs()
    unsent = sum(_run_all(lambda batch: _send_batch(client, queue_url, batch), _batches(entries)))
    if unsent:
        raise EnqueueError(f"{unsent} item(s) could not be queued")


def _send_batch(client: Any, queue_url: str, batch: list[dict[str, Any]]) -> int:
    """One SendMessageBatch, its failed entries retried once; returns how many failed."""
    pending = batch
    for _ in range(2):
        response = client.send_message_batch(QueueUrl=queue_url, Entries=pending)
        failed_ids = {f["Id"] for f in response.get("Failed", [])}
        pending = [e for e in pending if e["Id"] in failed_ids]
        if not pending:
            return 0
    return len(pending)


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SEND_CONCURRENCY, thread_name_prefix="queue-send")


def _run_all[T, R](task: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``task`` over ``items`` (concurrently when several), results in order.

    Waits for every call before raising the first exception, so a failed POST never
    leaves calls running into the next invocation.
    """
    if len(items) <= 1:
        return [task(item) for item in items]
    futures: list[Future[R]] = [_pool().submit(task, item) for item in items]
    wait(futures)
    return [f.result() for f in futures]


def _batches(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return list(
        chunks(
            entries,
            max_count=10,
            max_bytes=BATCH_BYTES_LIMIT,
            size=lambda entry: len(entry["MessageBody"].encode()),
        )
    )


def submit(document: dict[str, Any], *, delay_seconds: int = 0) -> None:
    """Put one outbound submission on the outbound queue (see README, "Sending")."""
    submit_many([document], delay_seconds=delay_seconds)


def submit_many(documents: Sequence[dict[str, Any]], *, delay_seconds: int = 0) -> None:
    cfg = settings()
    queue_url = cfg.require(cfg.outbound_queue_url, "OUTBOUND_QUEUE_URL")
    bodies = [json.dumps(d, separators=(",", ":"), default=str) for d in documents]
    send_bodies(queue_url, bodies, delay_seconds=delay_seconds, bucket=cfg.media_bucket)
