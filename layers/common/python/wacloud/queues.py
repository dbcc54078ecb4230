"""SQS hand-offs: webhook items to the inbound queue, submissions to the outbound queue.

Bodies larger than fit comfortably in an SQS message are written to S3 and replaced
by a pointer (`{"s3_pointer": {"bucket", "key"}}`), so a 3 MB webhook is never
rejected or truncated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from wacloud.aws import s3, sqs
from wacloud.config import settings

# SQS allows 256 KiB per message *and* per batch; stay well below to leave room for
# attributes and for several items sharing one SendMessageBatch call.
INLINE_LIMIT_BYTES = 64 * 1024
BATCH_BYTES_LIMIT = 240 * 1024
SPILL_PREFIX = "webhooks/"


class EnqueueError(RuntimeError):
    """Some items could not be queued; the caller must not acknowledge them."""


def _spill_if_large(body: str, bucket: str | None) -> str:
    if len(body.encode()) <= INLINE_LIMIT_BYTES:
        return body
    if not bucket:
        raise EnqueueError("item exceeds the inline SQS size and no media bucket is configured")
    key = SPILL_PREFIX + hashlib.sha256(body.encode()).hexdigest() + ".json"
    s3().put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
    return json.dumps({"s3_pointer": {"bucket": bucket, "key": key}})


def resolve_body(body: str) -> str:
    """The original body of a queued item, fetching it from S3 if it was spilled."""
    if not body.startswith('{"s3_pointer"'):
        return body
    pointer = json.loads(body)["s3_pointer"]
    obj = s3().get_object(Bucket=pointer["bucket"], Key=pointer["key"])
    return obj["Body"].read().decode()


def send_bodies(
    queue_url: str, bodies: Sequence[str], *, delay_seconds: int = 0, bucket: str | None = None
) -> None:
    """Queue every body, batching up to 10 per call and retrying partial failures once."""
    entries = [
        {
            "Id": str(i),
            "MessageBody": _spill_if_large(b, bucket),
            **({"DelaySeconds": delay_seconds} if delay_seconds else {}),
        }
        for i, b in enumerate(bodies)
    ]
    for batch in _batches(entries):
        pending = batch
        for _ in range(2):
            response = sqs().send_message_batch(QueueUrl=queue_url, Entries=pending)  # type: ignore[arg-type]
            failed_ids = {f["Id"] for f in response.get("Failed", [])}
            pending = [e for e in pending if e["Id"] in failed_ids]
            if not pending:
                break
        if pending:
            raise EnqueueError(f"{len(pending)} item(s) could not be queued")


def _batches(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry["MessageBody"].encode())
        if current and (len(current) == 10 or size + entry_size > BATCH_BYTES_LIMIT):
            batches.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry_size
    if current:
        batches.append(current)
    return batches


def submit(document: dict[str, Any], *, delay_seconds: int = 0) -> None:
    """Put one outbound submission on the outbound queue (see README, "Sending")."""
    submit_many([document], delay_seconds=delay_seconds)


def submit_many(documents: Sequence[dict[str, Any]], *, delay_seconds: int = 0) -> None:
    cfg = settings()
    queue_url = cfg.require(cfg.outbound_queue_url, "OUTBOUND_QUEUE_URL")
    bodies = [json.dumps(d, separators=(",", ":"), default=str) for d in documents]
    send_bodies(queue_url, bodies, delay_seconds=delay_seconds, bucket=cfg.media_bucket)
