"""An inbound item waiting out a failed attempt holds a stale claim's resend (the mechanism
behind the crash-test flake, tests/integration/test_outbound_crash.py).

A claim whose holder died is sent again only once the inbound pipeline has nothing left
to process (outbound/reconcile.py). An item whose processing failed is invisible for
the inbound queue's visibility timeout (180 s in template.yaml) and counts all that
time: the status that settles the claim may be that item. So one inbound retry
anywhere delays every such resend by up to a visibility timeout; the claim's record is
not touched meanwhile (still `sending`, attempts 1), which is what the flaky run showed.
"""

from __future__ import annotations

import boto3

from tests.unit.test_send_reconcile import (  # fixtures, used by name
    GRACE,
    age_claim,
    graph,
    item,
    queues,
    sender,
    states,
    unknown,
)
from tests.unit.test_sender import FakeGraph, open_window, text
from wacloud.outbound.sender import Outcome, Sender

__all__ = ["graph", "queues", "sender"]


def test_an_inbound_item_in_its_retry_holds_the_resend_until_it_is_processed(
    sender: Sender, graph: FakeGraph, queues: dict[str, str]
) -> None:
    open_window()
    unknown(sender, graph)
    age_claim(GRACE + 1)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queues["inbound"], MessageBody='{"a": "status, maybe ours"}')
    # Received by an attempt that failed: invisible, not deleted, until its retry.
    (received,) = sqs.receive_message(QueueUrl=queues["inbound"], VisibilityTimeout=180)["Messages"]
    for _copy in range(3):  # every copy of the message in that time waits, writing nothing
        waiting = sender.handle(text())
        assert waiting.outcome is Outcome.IN_FLIGHT and waiting.detail["reconcile"] == "wait"
        assert waiting.retry_in == GRACE and graph.sent == []
        assert states(item()) == ["sending"] and item()["attempts"] == 1
    # The retry processed it (it was not this message's status): now it is sent again.
    sqs.delete_message(QueueUrl=queues["inbound"], ReceiptHandle=received["ReceiptHandle"])
    again = sender.handle(text())
    assert again.outcome is Outcome.SENT and len(graph.sent) == 1
    assert states(item()) == ["sending", "sending", "sent"] and item()["attempts"] == 2
