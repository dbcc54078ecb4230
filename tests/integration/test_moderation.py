"""Moderation through the local stack: a burst of customer messages gets one "too fast"
notice, then silence, then a block in our state and at Meta's Block API (the emulator);
the QueueProcessor ends the block when it is due, there and here."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from local.waiting import wait_for

BLOCK_SECONDS = 3


@pytest.fixture
def moderated_stack(make_stack: Callable[..., LocalStack]) -> LocalStack:
    # Its own stack: the moderation settings below must be read fresh by the
    # InboundProcessor (they are cached a minute per warm container).
    return make_stack()


def test_a_burst_blocks_the_contact_here_and_at_meta_until_due(
    moderated_stack: LocalStack, customer: str
) -> None:
    from wacloud import moderation
    from wacloud.store import contacts

    stack = moderated_stack
    emulator = stack.emulator
    assert emulator is not None
    moderation.save_settings(
        PNID, {"rate_per_minute": 3, "threshold": 5, "block_seconds": BLOCK_SECONDS}
    )
    for _ in range(8):
        emulator.customer_text(customer, "cheap followers, same text again")
    blocked = wait_for(
        "contact blocked",
        lambda: (contacts.load(PNID, customer) or {}).get("blocked") is True,
        timeout=120,
    )
    assert blocked
    item = contacts.load(PNID, customer) or {}
    assert item["meta_blocked"] is True and item["blocked_by"] == "moderation"
    assert customer in emulator.core.phone_number(PNID).blocklist
    # At most one "too fast" notice went out, and far fewer replies than messages.
    replies = emulator.sent_messages(to=customer)
    notices = [m for m in replies if "too fast" in str(m)]
    assert len(notices) <= 1 and len(replies) < 8

    time.sleep(BLOCK_SECONDS + 1)
    run = stack.tickers["QueueProcessorFunctionEveryMinute"].fire()
    assert run.ok, run.error
    item = contacts.load(PNID, customer) or {}
    assert item.get("blocked") is False and "blocked_until" not in item
    assert customer not in emulator.core.phone_number(PNID).blocklist
