"""Queues, DLQ peek and redrive through the operator API, on moto with the local
stack's move-task extension (local/moto_sqs_moves.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from local import moto_sqs_moves
from tests.unit.api_calls import call
from tests.unit.conftest import mocked_state_table
from wacloud.infra import config


@pytest.fixture
def queues(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with mocked_state_table(monkeypatch):
        undo = moto_sqs_moves.apply()
        client = boto3.client("sqs")
        dlq = client.create_queue(QueueName="work-dlq")["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        work = client.create_queue(
            QueueName="work",
            Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
            },
        )["QueueUrl"]
        events = client.create_queue(QueueName="events-dlq")["QueueUrl"]
        monkeypatch.setenv(
            "OPS_QUEUES",
            f"WorkQueue={work},WorkDeadLetterQueue={dlq},BusinessEventDeadLetterQueue={events}",
        )
        config.settings.cache_clear()
        yield {"work": work, "dlq": dlq, "events": events}
        undo()


def poison(client: object, work: str, body: str) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=work, MessageBody=body)
    sqs.receive_message(QueueUrl=work, VisibilityTimeout=0)  # failed once
    sqs.receive_message(QueueUrl=work, VisibilityTimeout=0)  # moved to the DLQ by moto


def test_depths_peek_and_redrive(queues: dict[str, str]) -> None:
    poison(None, queues["work"], '{"poisoned": 1}')
    status, body = call("GET", "/v1/ops/queues")
    assert status == 200, body
    by_name = {q["name"]: q for q in body["items"]}
    assert by_name["WorkDeadLetterQueue"]["dead_letter"] is True
    assert by_name["WorkDeadLetterQueue"]["dead_letter_of"] == ["WorkQueue"]
    assert by_name["WorkDeadLetterQueue"]["visible"] == 1
    assert by_name["WorkQueue"]["dead_letter"] is False
    assert by_name["BusinessEventDeadLetterQueue"]["dead_letter"] is True

    peeked = call("GET", "/v1/ops/dlqs/WorkDeadLetterQueue/messages", params={"max": 5})[1]
    assert [m["body"] for m in peeked["items"]] == ['{"poisoned": 1}']
    again = call("GET", "/v1/ops/dlqs/WorkDeadLetterQueue/messages")[1]
    assert len(again["items"]) == 1  # peeking consumed nothing

    assert call("GET", "/v1/ops/dlqs/WorkDeadLetterQueue/redrive")[1]["status"] is None
    status, started = call("POST", "/v1/ops/dlqs/WorkDeadLetterQueue/redrive")
    assert status == 202 and started["task_handle"]
    latest = call("GET", "/v1/ops/dlqs/WorkDeadLetterQueue/redrive")[1]
    assert latest["status"] == "COMPLETED" and latest["moved"] == 1
    back = boto3.client("sqs").receive_message(
        QueueUrl=queues["work"], AttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert [m["Body"] for m in back] == ['{"poisoned": 1}']
    assert back[0]["Attributes"]["ApproximateReceiveCount"] == "1"  # counted afresh


def test_refusals(queues: dict[str, str]) -> None:
    status, body = call("GET", "/v1/ops/dlqs/WorkQueue/messages")
    assert status == 404 and body["error"]["code"] == "not_found"
    assert call("POST", "/v1/ops/dlqs/Nope/redrive")[0] == 404
    status, body = call("POST", "/v1/ops/dlqs/BusinessEventDeadLetterQueue/redrive")
    assert status == 409 and body["error"]["code"] == "conflict"
    assert call("GET", "/v1/ops/queues", "agent")[0] == 403
    assert call("GET", "/v1/ops/dlqs/WorkDeadLetterQueue/messages", params={"max": 11})[0] == 400
