"""The local runtime behaves like Lambda's SQS event source mapping, API Gateway and
EventBridge: reported item failures stay and return after the visibility timeout, then
go to the DLQ after maxReceiveCount; a crashed execution environment fails the whole
batch and is replaced; the gateway passes bodies through as API Gateway would; a rule
takes only its bus's matching events, and an event its target keeps failing on is
retried, then kept in the on-failure destination."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.event_rules import AsyncInvokeConfig, EventRule, business_event
from local.gateway import LocalHttpApi, Route
from local.lambdas import FunctionSpec, LocalFunction
from local.pollers import MappingSpec, QueuePoller
from local.stack import free_port
from local.waiting import wait_for

FLAKY = Path(__file__).parent / "functions" / "flaky"


@pytest.fixture(scope="module")
def sqs() -> Iterator[Any]:
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    server.stop()


@pytest.fixture(scope="module")
def flaky() -> Iterator[LocalFunction]:
    spec = FunctionSpec("Flaky", FLAKY, "app.lambda_handler", timeout=5, memory_mb=128)
    function = LocalFunction(spec, {"PATH": "/usr/bin:/bin"}, concurrency=1)
    yield function
    function.close()


def _queue_with_dlq(sqs: Any, name: str) -> tuple[str, str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn, dlq


def _count(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_reported_failures_return_then_dead_letter(sqs: Any, flaky: LocalFunction) -> None:
    url, arn, dlq = _queue_with_dlq(sqs, "partial")
    for body in ("ok-1", "fail-1", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    poller = QueuePoller(
        MappingSpec(
            "m",
            url,
            arn,
            batch_size=10,
            batching_window_seconds=0.2,
            report_batch_item_failures=True,
            concurrency=1,
        ),
        flaky,
        sqs,
        "us-east-1",
    )
    poller.start()
    try:
        wait_for(
            "the failing message in the DLQ, the queue empty",
            lambda: _count(sqs, dlq) == 1 and _count(sqs, url) == 0,
            timeout=15,
        )
    finally:
        poller.stop()
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert moved["Body"] == "fail-1"
    assert int(moved["Attributes"]["ApproximateReceiveCount"]) >= 2
    assert poller.invocations >= 2  # the failed item came back after the visibility timeout


def test_a_crashed_environment_fails_the_whole_batch_and_is_replaced(
    sqs: Any, flaky: LocalFunction
) -> None:
    result = flaky.invoke({"Records": [{"messageId": "1", "body": "crash"}]})
    assert not result.ok
    # The replacement environment serves the next invocation (a new cold start).
    again = flaky.invoke({"Records": [{"messageId": "2", "body": "fail"}]})
    assert again.ok
    assert again.payload == {"batchItemFailures": [{"itemIdentifier": "2"}]}


def test_gateway_builds_payload_v2_events(flaky: LocalFunction) -> None:
    api = LocalHttpApi([Route("POST", "/echo", flaky)])
    api.start()
    try:
        text = httpx.post(
            f"{api.url}/echo?a=1&a=2",
            content=b'{"x": 1}',
            headers={"content-type": "application/json"},
        ).json()
        assert text == {
            "body": '{"x": 1}',
            "isBase64Encoded": False,
            "queryStringParameters": {"a": "1,2"},
        }
        binary = httpx.post(
            f"{api.url}/echo",
            content=b"\x00\xff",
            headers={"content-type": "application/octet-stream"},
        ).json()
        assert binary["isBase64Encoded"] is True
        assert base64.b64decode(binary["body"]) == b"\x00\xff"
        assert httpx.get(f"{api.url}/nowhere").status_code == 404
    finally:
        api.stop()


def test_event_rules_match_their_bus_and_keep_what_keeps_failing(
    sqs: Any, flaky: LocalFunction
) -> None:
    destination = sqs.create_queue(QueueName="on-failure")["QueueUrl"]
    rule = EventRule(
        "Rule",
        bus="ours",
        pattern={"source": [{"prefix": "business."}], "detail-type": ["thing.happened"]},
        function=flaky,
        invoke=AsyncInvokeConfig(max_retries=2, on_failure_queue_url=destination),
    )

    def event(source: str, detail: dict[str, Any]) -> dict[str, Any]:
        return business_event("thing.happened", detail, source, "us-east-1", "123456789012")

    assert rule.matches(event("business.shop", {}))
    assert not rule.matches(event("shop.business.", {}))
    assert not rule.matches({**event("business.shop", {}), "detail-type": "other"})

    ok = event("business.shop", {})
    delivered = rule.deliver(ok, sqs)
    assert delivered.ok and delivered.payload == {"seen": ok["id"]}
    assert _count(sqs, destination) == 0

    bad = event("business.shop", {"fail": True})
    failed = rule.deliver(bad, sqs)
    assert not failed.ok and failed.error and failed.error.startswith("ValueError")
    (message,) = sqs.receive_message(QueueUrl=destination)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestPayload"] == bad
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"] == {"errorType": "ValueError", "errorMessage": "asked to fail"}
