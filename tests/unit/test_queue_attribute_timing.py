"""Why the local stack sets queue attributes before its pollers start (LocalStackConfig.
queue_attributes, local/stack.py).

A receive that is already waiting (a long poll) when a queue's VisibilityTimeout is
changed hands the next message over with the *old* timeout: moto reads it when the
call starts (SQS documents up to 60 s for an attribute change to take effect). In the
crash test the first submission arrived during such a poll, kept the template's 180 s
instead of 8 s, and, its process killed after its claim, was not seen again for the
whole of the test's wait.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
from moto import mock_aws


def test_a_waiting_receive_keeps_the_visibility_timeout_it_started_with() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "180"})["QueueUrl"]
        got: list[dict[str, Any]] = []
        poll = threading.Thread(
            target=lambda: got.extend(
                sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3).get("Messages", [])
            )
        )
        poll.start()
        time.sleep(0.5)  # the poll is waiting
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
        sqs.send_message(QueueUrl=url, MessageBody="first submission")
        poll.join()
        assert [m["Body"] for m in got] == ["first submission"]
        time.sleep(1.5)  # past the new 1 s, far inside the old 180 s
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
        assert again == []  # still hidden: it was received with 180 s

        # A receive that starts after the change uses it.
        sqs.send_message(QueueUrl=url, MessageBody="second")
        (second,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        time.sleep(1.5)
        back = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        assert [m["Body"] for m in back] == [second["Body"]]
