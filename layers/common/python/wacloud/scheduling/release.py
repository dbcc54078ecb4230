"""Work that waits for a time: scheduled sends, parked retries, housekeeping (QueueProcessor).

This module decides what to do when; the writes are the store's (`wacloud.store.due`
owns the index keys and housekeeping writes, `wacloud.store.messages` every change of a
message record). Everything that must happen "at T" sits in the sparse `due` index:

* `DUE#0` .. `DUE#{DUE_SHARDS-1}` partitions: messages to send at T, spread by a hash
  of the message id so no single index partition takes every scheduled write (one
  partition takes about 1,000 writes/s). due_sk = `{iso T}#{9 - priority}#{pnid}#{id}`.
  Scheduled messages (send_at in the future), and deferred or retrying messages whose
  next attempt is beyond SQS's 15-minute maximum delay (`park`). A release reads
  every shard. Items written before sharding sit in the single `DUE` partition; a
  release reads it too, so they are still sent (one extra query a run; it can go
  once no stack has such items left).
* `HK` partition: housekeeping at T. due_sk = `{iso T}#{pk}`. Temporary blocks that
  end, and state items (conversation state) whose TTL has passed: DynamoDB deletes
  expired items only eventually (up to days later), so we remove them on time and
  readers also filter on the TTL attribute (`is_live`).

Release protocol (never lost, released once). A run first takes a short *lease* on
each due message with a conditional write, then puts the submissions on the outbound
queue, then finishes them (`scheduled -> queued`, due keys removed) only if it still
holds the lease. The finish is rank-guarded and in `history` like every state change: a
sender that claimed the message from the queue before the finish ran keeps it `sending`.
Two overlapping runs cannot both lease a message; a run that dies
between leasing and enqueueing leaves the message in the index, and the next run
takes it over when the lease expires. If a run dies after enqueueing but before
finishing, the message is enqueued a second time after the lease; the sender's claim
(one message record per idempotency key) still sends it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wacloud.infra.clock import now
from wacloud.store import due as due_index
from wacloud.store import messages
from wacloud.store.due import (
    DUE_PARTITION,
    DUE_SHARDS,
    HOUSEKEEPING_PARTITION,
    due_keys,
    due_partition,
    due_partitions,
    due_sk,
    expire_at,
    schedule_fields,
    temporary_block,
)
from wacloud.store.messages import park

# A lease outlives any run (QueueProcessor's timeout is 60 s) so it is never taken over
# while its holder is still working.
RELEASE_LEASE_SECONDS = 120
# Beyond this, SQS cannot delay a message (DelaySeconds max 900): park it here instead.
SQS_MAX_DELAY_SECONDS = 900
ENQUEUE_CHUNK = 50


def _order(key: dict[str, Any]) -> tuple[str, str]:
    """Backlog order: highest priority first, then earliest due."""
    due, _, rest = str(key["due_sk"]).partition("#")
    return rest.partition("#")[0], due


@dataclass
class ReleaseReport:
    released: int = 0
    contended: int = 0  # leased by another run, or no longer releasable
    backlog: int = 0  # due keys seen this run


def release_due(
    enqueue: Callable[[list[str]], None],
    *,
    limit: int = 2000,
    deadline: float | None = None,
    at: float | None = None,
) -> ReleaseReport:
    """Release due messages, highest priority first, each once; bounded by `deadline`."""
    at = now() if at is None else at
    found = [key for part in due_partitions() for key in due_keys(part, at, limit)]
    keys = sorted(found, key=_order)[:limit]
    report = ReleaseReport(backlog=len(keys))
    token = uuid.uuid4().hex
    for start in range(0, len(keys), ENQUEUE_CHUNK):
        if deadline is not None and now() >= deadline:
            break
        leased: list[dict[str, Any]] = []
        for key in keys[start : start + ENQUEUE_CHUNK]:
            item = messages.lease(key, token, at, at + RELEASE_LEASE_SECONDS)
            if item is None:
                report.contended += 1
            else:
                leased.append(item)
        if not leased:
            continue
        enqueue([str(item["submission"]) for item in leased])
        for item in leased:
            # False: our lease expired and another run took over; it finishes the message.
            messages.finish_release(item, token)
        report.released += len(leased)
    return report


def cancel_scheduled(phone_number_id: str, message_id: str, reason: str) -> bool:
    """Cancel a message no send attempt holds (see `messages.cancel_waiting`)."""
    return messages.cancel_waiting(phone_number_id, message_id, reason)


# ------------------------------------------------------------------ housekeeping
def is_live(item: dict[str, Any] | None, at: float | None = None) -> bool:
    """False for an item whose TTL (`expires_at`) has passed but DynamoDB has not deleted."""
    if not item:
        return False
    ttl = item.get("expires_at")
    return ttl is None or float(ttl) > (now() if at is None else at)


@dataclass
class HousekeepingReport:
    unblocked: int = 0
    expired: int = 0
    skipped: int = 0


# Ends a due block: (due key, the item, now) -> True if lifted (wacloud.moderation.lift_block
# also ends it at Meta's Block API).
LiftBlock = Callable[[dict[str, Any], dict[str, Any], float], bool]


def housekeeping(
    *,
    limit: int = 500,
    deadline: float | None = None,
    at: float | None = None,
    lift_block: LiftBlock | None = None,
) -> HousekeepingReport:
    """Lift temporary blocks that are over and delete state past its expiry. `lift_block`
    ends a block (default: in our state only)."""
    at = now() if at is None else at
    report = HousekeepingReport()
    for key in due_keys(HOUSEKEEPING_PARTITION, at, limit):
        if deadline is not None and now() >= deadline:
            break
        item = due_index.load(key)
        if item is None:
            report.skipped += 1
            continue
        block_over = item.get("blocked_until") is not None and float(item["blocked_until"]) <= at
        lifted = block_over and (
            lift_block(key, item, at) if lift_block is not None else due_index.unblock(key, at)
        )
        if lifted:
            report.unblocked += 1
            continue
        ttl_over = item.get("expires_at") is not None and float(item["expires_at"]) <= at
        if ttl_over and due_index.delete_expired(key, at):
            report.expired += 1
            continue
        report.skipped += 1
        # Due with nothing to do (block made permanent, TTL extended without
        # re-registering): out of the index unless it was re-registered meanwhile.
        due_index.drop_from_index(key, str(key["due_sk"]))
    return report


__all__: Sequence[str] = [
    "DUE_PARTITION",
    "DUE_SHARDS",
    "HOUSEKEEPING_PARTITION",
    "RELEASE_LEASE_SECONDS",
    "SQS_MAX_DELAY_SECONDS",
    "HousekeepingReport",
    "ReleaseReport",
    "cancel_scheduled",
    "due_keys",
    "due_partition",
    "due_partitions",
    "due_sk",
    "expire_at",
    "housekeeping",
    "is_live",
    "park",
    "release_due",
    "schedule_fields",
    "temporary_block",
]
