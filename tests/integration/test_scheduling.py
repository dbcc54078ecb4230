"""Releasing due messages: once each under overlapping runs, never lost to a crash,
highest priority first; and housekeeping of temporary blocks."""

from __future__ import annotations

import contextlib
import json
import threading

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from wacloud.infra.clock import now
from wacloud.scheduling import release as scheduling
from wacloud.store import contacts, messages
from wacloud.store.messages import State


def _scheduled(message_id: str, to: str, due: float, priority: int = 5) -> None:
    body = {
        "phone_number_id": PNID,
        "to": to,
        "type": "template",
        "template": {"name": "sched_tpl", "language": {"code": "en_US"}},
        "idempotency_key": message_id,
        "priority": priority,
    }
    messages.record_new(
        PNID,
        message_id,
        State.SCHEDULED,
        {
            "to": to,
            "type": "template",
            "submission": json.dumps(body),
            "priority": priority,
            **scheduling.schedule_fields(PNID, message_id, due, priority),
        },
    )


def test_overlapping_runs_release_each_once_priority_first(
    stack: LocalStack, customer: str
) -> None:
    ids = [f"sched-{customer}-{i}" for i in range(30)]
    for i, mid in enumerate(ids):
        _scheduled(mid, customer, now() - 5, priority=9 if i == 29 else 5)
    released: list[str] = []
    lock = threading.Lock()

    def enqueue(bodies: list[str]) -> None:
        with lock:
            released.extend(json.loads(b)["idempotency_key"] for b in bodies)

    runs = [threading.Thread(target=scheduling.release_due, args=(enqueue,)) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    mine = [m for m in released if m in ids]
    assert sorted(mine) == sorted(ids)  # each exactly once
    assert mine.index(ids[29]) < 50  # the priority 9 one went out in the first chunk
    assert {messages.load(PNID, m)["state"] for m in ids} == {"queued"}  # type: ignore[index]


def test_crash_between_lease_and_enqueue_is_not_lost(stack: LocalStack, customer: str) -> None:
    mid = f"sched-crash-{customer}"
    _scheduled(mid, customer, now() - 5)

    def crash(bodies: list[str]) -> None:
        raise RuntimeError("Lambda died before SQS accepted the batch")

    with contextlib.suppress(RuntimeError):
        scheduling.release_due(crash)
    assert messages.load(PNID, mid)["state"] == "scheduled"  # type: ignore[index]
    got: list[str] = []
    scheduling.release_due(got.extend, at=now())  # lease still held: nothing yet
    assert not [b for b in got if mid in b]
    scheduling.release_due(got.extend, at=now() + scheduling.RELEASE_LEASE_SECONDS + 1)
    assert [b for b in got if mid in b]


@pytest.mark.serial
def test_due_message_is_sent_by_the_processor(stack: LocalStack, customer: str) -> None:
    assert stack.emulator is not None
    stack.emulator.add_template("sched_tpl", body="Reminder")
    mid = f"sched-send-{customer}"
    _scheduled(mid, customer, now() - 1)
    run = stack.tickers["QueueProcessorFunctionEveryMinute"].fire()
    assert run.ok, run.error
    stack.emulator.wait_for(lambda: stack.emulator.sent_messages(to=customer), timeout=60)  # type: ignore[union-attr]


def test_temporary_block_is_lifted(stack: LocalStack, customer: str) -> None:
    scheduling.temporary_block(PNID, customer, now() - 1, reason="abuse")
    assert (contacts.load(PNID, customer) or {}).get("blocked") is True
    report = scheduling.housekeeping()
    assert report.unblocked >= 1
    assert (contacts.load(PNID, customer) or {}).get("blocked") is False
