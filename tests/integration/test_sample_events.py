"""Every function runs on its sample event from events/ (the ones `sam local invoke -e`
uses), inside the local stack's Lambda environments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.stack import LocalStack
from local.template import REPO_ROOT


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO_ROOT / "events" / f"{name}.json").read_text())
    return event


def test_webhook_verify_sample(stack: LocalStack) -> None:
    result = stack.invoke("WebhookVerifyFunction", sample("webhook_verify"))
    assert result.ok, result.error
    assert result.payload["statusCode"] == 200
    assert result.payload["body"] == "1158201444"


def test_webhook_receive_sample(stack: LocalStack) -> None:
    result = stack.invoke("WebhookReceiveFunction", sample("webhook_receive"))
    assert result.ok, result.error
    assert result.payload["statusCode"] == 200, result.payload


@pytest.mark.parametrize(
    "name, function",
    [("inbound_processor", "InboundProcessorFunction"), ("sender", "SenderFunction")],
)
def test_sqs_samples_process_without_item_failures(
    stack: LocalStack, name: str, function: str
) -> None:
    result = stack.invoke(function, sample(name))
    assert result.ok, result.error
    assert result.payload == {"batchItemFailures": []}


@pytest.mark.parametrize(
    "name, function",
    [("queue_processor", "QueueProcessorFunction"), ("template_sync", "TemplateSyncFunction")],
)
def test_scheduled_samples(stack: LocalStack, name: str, function: str) -> None:
    result = stack.invoke(function, sample(name))
    assert result.ok, result.error


def test_workflow_trigger_sample_through_the_local_event_bus(stack: LocalStack) -> None:
    event = sample("workflow_trigger")
    bus = stack.business_event_bus
    results = stack.put_event(event["detail-type"], event["detail"], event["source"], bus=bus)
    assert len(results) == 1, "exactly one rule matches booking.confirmed"
    assert results[0].ok, results[0].error
    # Any detail-type under the prefix reaches the trigger (a tenant's own definition may
    # start on it); a source outside the prefix reaches nothing.
    other = stack.put_event("loyalty.points_added", event["detail"], event["source"], bus=bus)
    assert len(other) == 1 and other[0].ok, other
    assert stack.put_event(event["detail-type"], event["detail"], "shop.orders", bus=bus) == []
    # The same event on the default bus reaches nothing.
    assert stack.put_event(event["detail-type"], event["detail"], event["source"]) == []


def test_operator_api_sample(stack: LocalStack) -> None:
    outcome = stack.functions["OperatorApiFunction"].invoke(sample("operator_api"))
    assert outcome.ok, outcome.error
    assert outcome.payload["statusCode"] == 200
    assert json.loads(outcome.payload["body"])["openapi"].startswith("3.")
