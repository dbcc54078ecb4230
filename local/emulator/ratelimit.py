"""Throughput, pair-rate and messaging-limit accounting (docs/meta/throughput.md).

All times are emulator-clock seconds so tests can ``clock.freeze()`` / ``advance()``.
Callers hold the state lock.
"""

from __future__ import annotations

from collections import deque

from .errors import GraphError
from .state import State

PAIR_INTERVAL = 6.0  # 1 message / 6 s to the same user
PAIR_BURST = 45  # up to 45 in 6 s, borrowed against future quota
MAX_THROUGHPUT = 1000  # mps after upgrade


def check_throughput(state: State, phone_number_id: str, mps: int, now: float) -> None:
    """80 mps default per number, inbound + outbound (docs/meta/throughput.md) -> 130429 over the
    limit.

    Sliding one-second window.
    """
    events = state.throughput_events.setdefault(phone_number_id, deque())
    while events and now - events[0] >= 1.0:
        events.popleft()
    if len(events) >= mps:
        raise GraphError(130429, "Cloud API message throughput has been reached.", subcode=2494055)


def record_throughput(state: State, phone_number_id: str, now: float) -> None:
    state.throughput_events.setdefault(phone_number_id, deque()).append(now)


def check_pair(state: State, phone_number_id: str, wa_id: str, now: float) -> float:
    """Pair rate limit as a GCRA: each message costs 6 s of quota; up to 45 messages may be
    borrowed ahead (so a burst of 20 leaves ~2 min of debt, as Meta describes). Returns the
    new theoretical arrival time to store if the message is accepted -> 131056 otherwise."""
    tat = max(state.pair_tat.get((phone_number_id, wa_id), now), now)
    new_tat = tat + PAIR_INTERVAL
    if new_tat - now > PAIR_BURST * PAIR_INTERVAL:
        wait = int(new_tat - now - PAIR_BURST * PAIR_INTERVAL) + 1
        raise GraphError(
            131056,
            f"Message failed to send because there were too many "
            f"messages sent from this phone number to the same phone "
            f"number in a short period of time. Retry in {wait}s.",
        )
    return new_tat


def messaging_limit_ok(
    state: State, phone_number_id: str, wa_id: str, limit: int | None, now: float
) -> bool:
    """Unique users reached outside a CSW in a moving 24 h (docs/meta/throughput.md). Returns False
    when this message would take a new user over the limit."""
    if limit is None:
        return True
    reached = state.unique_reached.setdefault(phone_number_id, {})
    for k in [k for k, t in reached.items() if now - t >= 86400]:
        del reached[k]
    if wa_id in reached:
        reached[wa_id] = now
        return True
    if len(reached) >= limit:
        return False
    reached[wa_id] = now
    return True
