"""The local SQS poller outlives failed SQS calls and never strands what it received.

A message received and then neither handed to the function nor left to a failed
invocation sits invisible for the queue's whole visibility timeout (180 s on the
inbound queue), and the sender's reconcile waits while the inbound queue holds it
(outbound/reconcile.py). Fakes, no threads: `_collect_batch` and one `_run` turn are
driven directly.
"""

from __future__ import annotations

import threading
from typing import Any

from local.lambdas import Invocation
from local.pollers import MappingSpec, QueuePoller


def _message(n: int) -> dict[str, Any]:
    return {
        "MessageId": f"id-{n}",
        "ReceiptHandle": f"rh-{n}",
        "Body": f"body-{n}",
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


class FakeSqs:
    """Receives answer from `script` in order: a list of messages or an exception."""

    def __init__(self, script: list[list[dict[str, Any]] | Exception]) -> None:
        self.script = script
        self.deleted: list[str] = []
        self.fail_deletes = 0

    def receive_message(self, **_: Any) -> dict[str, Any]:
        step = self.script.pop(0) if self.script else []
        if isinstance(step, Exception):
            raise step
        return {"Messages": step}

    def delete_message_batch(self, Entries: list[dict[str, str]], **_: Any) -> None:  # noqa: N803
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise ConnectionError("moto went away for a moment")
        self.deleted.extend(e["ReceiptHandle"] for e in Entries)


class FakeFunction:
    def __init__(self, poller_stop: threading.Event | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.stop = poller_stop

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        if self.stop is not None and len(self.events) >= 2:
            self.stop.set()
        return Invocation(True, {"batchItemFailures": []}, None, 1.0)


def _poller(sqs: FakeSqs, function: Any, window: float = 5.0) -> QueuePoller:
    spec = MappingSpec(
        "m",
        "https://queue",
        "arn:aws:sqs:us-east-1:123456789012:q",
        batch_size=10,
        batching_window_seconds=window,
        report_batch_item_failures=True,
        concurrency=1,
    )
    return QueuePoller(spec, function, sqs, "us-east-1")


def test_a_receive_failing_mid_window_still_hands_over_what_was_received() -> None:
    sqs = FakeSqs([[_message(1)], ConnectionError("reset"), [_message(2)]])
    batch = _poller(sqs, FakeFunction())._collect_batch()
    assert [m["MessageId"] for m in batch] == ["id-1"]


def test_a_receive_failing_with_nothing_received_is_retried_by_the_loop() -> None:
    sqs = FakeSqs([ConnectionError("reset")])
    poller = _poller(sqs, FakeFunction())
    try:
        poller._collect_batch()
    except ConnectionError:
        pass
    else:
        raise AssertionError("the loop's handler retries it")


def test_a_failed_delete_does_not_stop_the_mapping() -> None:
    sqs = FakeSqs([[_message(1)], [], [_message(2)], []])
    sqs.fail_deletes = 1
    poller = _poller(sqs, None, window=0.0)
    function = FakeFunction(poller._stop)
    poller._function = function  # type: ignore[assignment]
    poller._run()  # returns once the function has seen two batches
    assert len(function.events) == 2
    assert sqs.deleted == ["rh-2"]  # the first comes back after its visibility timeout
