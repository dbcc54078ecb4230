"""Send-rate limits shared by every concurrent sender, kept in DynamoDB (docs/meta/throughput.md).

Each limit is a token bucket stored as one number, its *theoretical arrival time*
(GCRA): the moment the bucket would be full again. Taking `n` tokens moves it forward
by `n / rate`; the bucket refuses when that would put it more than `burst / rate`
ahead of now. One attribute means one conditional update per acquisition, and the
additive form (`tat = tat + :cost`) commutes, so concurrent senders do not have to
agree on an exact previous value.

Two buckets exist:
* per business number: Meta meters 80 messages/s by default, up to 1,000 after an
  upgrade (docs/meta/throughput.md, error 130429). Tokens for a whole SQS batch are taken in one
  call (`ThroughputBudget`) and handed out in memory.
* per (number, recipient) pair: 1 message / 6 s with bursts of up to 45 borrowed
  against future quota (docs/meta/throughput.md, error 131056). A sender batch reads
  its pairs' buckets with its contacts, decides in memory (`PairLedger`) and writes
  the new arrival times once after its sends; a single message outside a batch takes
  its token with one conditional update (`acquire_pair`).

Over a limit is never a failure: the caller defers the message by the returned wait.
The bucket items and their updates are `wacloud.store.throughput`'s; this module keeps
the arithmetic and the per-process knowledge of each bucket.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wacloud.infra.clock import now
from wacloud.store import throughput
from wacloud.store.tenants import DEFAULT_THROUGHPUT_MPS, MAX_THROUGHPUT_MPS
from wacloud.store.throughput import bucket_pk

PAIR_INTERVAL_SECONDS = 6.0  # docs/meta/throughput.md: 1 message / 6 s to the same user
PAIR_BURST = 45  # docs/meta/throughput.md: bursts of up to 45 in 6 s
MAX_DEFER_SECONDS = 900  # SQS DelaySeconds maximum
_ATTEMPTS = 4  # conditional-update retries when another sender moved the bucket


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int

    @property
    def cost(self) -> float:
        """Seconds of bucket time one token costs."""
        return 1.0 / self.per_second

    @property
    def window(self) -> float:
        """How far ahead of now the bucket may run (the burst, in seconds)."""
        return self.burst * self.cost


def throughput_rate(mps: int) -> Rate:
    """The number bucket: `mps` tokens per second, one second of them at once.

    Meta also counts inbound messages against the same meter (docs/meta/throughput.md), so this
    bucket can only keep us under the limit, not guarantee it: 130429 is still deferred.
    """
    mps = max(1, min(int(mps), MAX_THROUGHPUT_MPS))
    return Rate(per_second=float(mps), burst=mps)


PAIR_RATE = Rate(per_second=1.0 / PAIR_INTERVAL_SECONDS, burst=PAIR_BURST)


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    # Seconds until the next token is free; 0.0 when everything asked for was granted.
    wait: float


def plan(tat: float | None, at: float, want: int, rate: Rate) -> tuple[int, float, float]:
    """Pure GCRA step: (tokens granted, new arrival time, wait for the next token)."""
    base = max(tat if tat is not None else at, at)
    room = at + rate.window - base
    # Epoch seconds carry ~2.4e-7 s of float rounding at today's magnitude, so a room of
    # exactly one token can compute as 0.99999996 of one: allow a micro-token of slack.
    granted = max(0, min(want, math.floor(room / rate.cost + 1e-6)))
    new_tat = base + granted * rate.cost
    wait = 0.0 if granted >= want else max(0.0, new_tat + rate.cost - rate.window - at)
    return granted, new_tat, wait


# Lower bounds of each bucket's arrival time seen by this process. Arrival times only
# move forward (refunds aside), so a cached value that already refuses is trusted and
# saves a DynamoDB call; one that allows is verified by the conditional update.
_seen: dict[str, float] = {}
_seen_lock = threading.Lock()


def acquire(pk: str, want: int, rate: Rate, *, ttl_seconds: int | None = None) -> Grant:
    """Take up to `want` tokens from the bucket at `pk` (one conditional update, usually)."""
    if want <= 0:
        return Grant(0, 0.0)
    with _seen_lock:
        belief = _seen.get(pk)
    for _ in range(_ATTEMPTS):
        at = now()
        granted, new_tat, wait = plan(belief, at, want, rate)
        if granted == 0:
            return Grant(0, wait)
        busy = belief is not None and belief >= at
        expires_at = int(at + ttl_seconds) if ttl_seconds is not None else None
        if busy:
            # Someone used the bucket recently: add our cost to whatever is there now,
            # provided there is still room for it.
            cost = granted * rate.cost
            take = throughput.take_busy(
                pk, cost, at, at + rate.window - cost, expires_at=expires_at
            )
        else:
            take = throughput.take_idle(pk, new_tat, at, expires_at=expires_at)
        if not take.taken:
            belief = take.tat
            continue
        assert take.tat is not None
        _remember(pk, take.tat)
        return Grant(granted, wait)
    # Heavy contention: report "not now" rather than spin; the message is deferred.
    return Grant(0, rate.cost)


def refund(pk: str, tokens: int, rate: Rate) -> None:
    """Give back tokens taken but not used (e.g. a batch item that was a duplicate)."""
    if tokens <= 0:
        return
    throughput.give_back(pk, tokens * rate.cost)
    with _seen_lock:
        _seen.pop(pk, None)


def _remember(pk: str, tat: float) -> None:
    with _seen_lock:
        _seen[pk] = max(tat, _seen.get(pk, tat))


# The pair bucket is idle again once it has caught up with now; keep it a day at most.
PAIR_TTL_SECONDS = 86_400


def acquire_pair(phone_number_id: str, wa_id: str) -> Grant:
    """One message to this recipient under the pair limit (docs/meta/throughput.md)."""
    return acquire(
        bucket_pk("PAIR", phone_number_id, wa_id), 1, PAIR_RATE, ttl_seconds=PAIR_TTL_SECONDS
    )


class PairLedger:
    """The pair buckets of one SQS batch: read before the sends, decided in memory,
    written once after them (docs/outbound.md, "AWS calls per message").

    Built from the arrival times read with the batch's contacts (one BatchGetItem);
    `take` is the same GCRA step as `acquire`, on the larger of what was read and what
    this process has seen; `dirty_items` are the buckets the batch moved, for the
    batch's one BatchWriteItem. Saves one conditional update per message.

    The trade-off: the write is not conditional, so two containers sending to the same
    recipient between one's read and the other's write can both pass and one's token
    is overwritten. That needs the same recipient in two batches handled at the same
    moment, costs at most one batch's messages to that recipient beyond the limit,
    and Meta's own pair limit (131056) then defers the excess (retried later, never
    failed): a bounded overshoot of a limit Meta enforces anyway, for a call saved on
    every message. Within one container the bucket only moves forward (`_seen`).
    """

    def __init__(self, tats: Mapping[tuple[str, str], float | None] | None = None) -> None:
        self._lock = threading.Lock()
        self._tats: dict[tuple[str, str], float | None] = dict(tats or {})
        self._dirty: set[tuple[str, str]] = set()

    def knows(self, phone_number_id: str, wa_id: str) -> bool:
        """Whether this pair's bucket was read with the batch (else use `acquire_pair`)."""
        return (phone_number_id, wa_id) in self._tats

    def take(self, phone_number_id: str, wa_id: str) -> Grant:
        pair = (phone_number_id, wa_id)
        pk = bucket_pk("PAIR", phone_number_id, wa_id)
        with self._lock:
            read = self._tats[pair]
            with _seen_lock:
                seen = _seen.get(pk)
            known = [t for t in (read, seen) if t is not None]
            granted, new_tat, wait = plan(max(known) if known else None, now(), 1, PAIR_RATE)
            if not granted:
                return Grant(0, wait)
            self._tats[pair] = new_tat
            self._dirty.add(pair)
        _remember(pk, new_tat)
        return Grant(granted, wait)

    def dirty_items(self) -> list[dict[str, object]]:
        """The moved buckets as whole items (written unconditionally), then forgotten."""
        expires_at = int(now() + PAIR_TTL_SECONDS)
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            tats = {pair: self._tats[pair] for pair in dirty}
        return [
            throughput.bucket_item(bucket_pk("PAIR", *pair), tat, expires_at)
            for pair, tat in tats.items()
            if tat is not None
        ]


class ThroughputBudget:
    """Number-bucket tokens for one SQS batch: one DynamoDB call per business number.

    `reserve` takes as many tokens as the batch has messages per number; `take` hands
    them out (thread-safe, the batch is sent from a thread pool); `settle` refunds what
    duplicates, rejections and deferrals did not use. A refused message is told to come
    back after the next free token plus its place in the line, so a deferred burst
    returns spread out instead of all at once.
    """

    def __init__(self, mps_for: Callable[[str], int]) -> None:
        self._mps_for = mps_for
        self._lock = threading.Lock()
        self._left: dict[str, int] = {}
        self._wait: dict[str, float] = {}
        self._refused: dict[str, int] = {}

    def _rate(self, phone_number_id: str) -> Rate:
        return throughput_rate(self._mps_for(phone_number_id))

    def reserve(self, counts: Mapping[str, int]) -> None:
        for pnid, count in counts.items():
            grant = acquire(bucket_pk("NUMBER", pnid), count, self._rate(pnid))
            with self._lock:
                self._left[pnid] = self._left.get(pnid, 0) + grant.granted
                self._wait[pnid] = grant.wait

    def take(self, phone_number_id: str) -> float | None:
        """None when a token is ours; otherwise the seconds to defer the message by."""
        with self._lock:
            reserved = phone_number_id in self._left
            if self._left.get(phone_number_id, 0) > 0:
                self._left[phone_number_id] -= 1
                return None
        rate = self._rate(phone_number_id)
        if not reserved:  # not counted up front (e.g. a body that failed to pre-parse)
            grant = acquire(bucket_pk("NUMBER", phone_number_id), 1, rate)
            if grant.granted:
                return None
            with self._lock:
                self._left.setdefault(phone_number_id, 0)
                self._wait[phone_number_id] = grant.wait
        with self._lock:
            place = self._refused.get(phone_number_id, 0)
            self._refused[phone_number_id] = place + 1
            wait = self._wait.get(phone_number_id, rate.cost) + place * rate.cost
        return min(float(MAX_DEFER_SECONDS), max(rate.cost, wait))

    def settle(self) -> None:
        with self._lock:
            unused = {k: v for k, v in self._left.items() if v > 0}
            self._left = {k: 0 for k in self._left}
        for pnid, tokens in unused.items():
            refund(bucket_pk("NUMBER", pnid), tokens, self._rate(pnid))


__all__ = [
    "DEFAULT_THROUGHPUT_MPS",
    "MAX_DEFER_SECONDS",
    "MAX_THROUGHPUT_MPS",
    "PAIR_BURST",
    "PAIR_INTERVAL_SECONDS",
    "PAIR_RATE",
    "PAIR_TTL_SECONDS",
    "Grant",
    "PairLedger",
    "Rate",
    "ThroughputBudget",
    "acquire",
    "acquire_pair",
    "bucket_pk",
    "plan",
    "refund",
    "throughput_rate",
]
