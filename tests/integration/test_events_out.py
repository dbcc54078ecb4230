"""Events out end to end (#14): a business app subscribed to the stack's bus receives each
fact once, though Meta (the emulator) delivers every webhook twice.

The stack is the real one: webhooks -> InboundProcessor -> state table -> its change
stream -> FactsFunction -> PutEvents on the stack's bus in moto. The app is a rule on
that bus (source ``wacloud``, the public detail-types) delivering to an SQS queue of
this module, read back over moto's API. A customer asks for a person (message received,
handoff, the notice's statuses), is resolved by an operator, another opts out with STOP
(the confirmation's statuses), and a template is paused and approved again.

"Exactly once" needs room for a wrong second event to show up: after Meta's webhooks
settle and the inbound queue is empty, a last state change (an opt-out written by
hand) goes through the stream; the stream is read in order, so once its event is in,
everything written before it has been published.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.emulator import WebhookDeliveryConfig
from local.stack import LocalStack
from local.waiting import wait_for
from tests.integration.test_inbound import settle
from tests.unit.test_events_out import validator

pytestmark = pytest.mark.integration

TEMPLATE = "events_out_hook"


class Subscriber:
    """A business app: one rule on the stack's bus for our public detail-types."""

    def __init__(self, stack: LocalStack) -> None:
        from wacloud.events_out import PUBLIC

        self.sqs = stack.client("sqs")
        self.url = self.sqs.create_queue(QueueName="test-events-out-app")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        events = stack.client("events")
        bus = stack.business_event_bus
        pattern = {"source": ["wacloud"], "detail-type": sorted(PUBLIC)}
        events.put_rule(
            Name="test-events-out-app", EventBusName=bus, EventPattern=json.dumps(pattern)
        )
        events.put_targets(
            Rule="test-events-out-app",
            EventBusName=bus,
            Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}],
        )
        self.events: list[dict[str, Any]] = []

    def received(self) -> list[dict[str, Any]]:
        while got := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in got:
                self.events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.events

    def of(self, detail_type: str, **detail: Any) -> list[dict[str, Any]]:
        return [
            e["detail"]
            for e in self.received()
            if e["detail-type"] == detail_type
            and all(e["detail"].get(k) == v for k, v in detail.items())
        ]


def inbound_queue(stack: LocalStack) -> dict[str, str]:
    return dict(
        stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.outputs["InboundQueueUrl"],
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
    )


def wait_inbound_drained(stack: LocalStack, timeout: float) -> None:
    """Every webhook item handled, the duplicates that came back included; on a timeout
    the message says what was left and what the processor failed with."""
    try:
        wait_for(
            "the inbound queue drained",
            lambda: all(int(v) == 0 for v in inbound_queue(stack).values()),
            timeout=timeout,
            interval=0.2,
        )
    except AssertionError:
        log = Path(stack.config.log_dir or ".") / "InboundProcessorFunction.log"
        failures = Counter(re.findall(r'"exception_name":"(\w+)"', log.read_text()))
        raise AssertionError(f"left: {inbound_queue(stack)}; failures: {dict(failures)}") from None


def test_each_fact_reaches_the_bus_once_though_every_webhook_comes_twice(
    make_stack: Callable[..., LocalStack],
) -> None:
    # A duplicate handled while its first delivery is in progress fails and comes back
    # after the visibility timeout (180 s in the template): 15 s keeps the wait short. Set
    # before the pollers start: set on the running stack, a long poll already waiting kept
    # 180 s, and a duplicate it received outlived the drain wait (once in a dozen CI runs).
    stack = make_stack(
        stack_name=f"wacloud-events-{uuid.uuid4().hex[:6]}",
        emulator={"delivery": WebhookDeliveryConfig(timeout=30.0, duplicate_rate=1.0)},
        queue_attributes={"InboundQueue": {"VisibilityTimeout": "15"}},
    )
    emulator = stack.emulator
    assert emulator is not None
    app = Subscriber(stack)
    waiting, leaving, last = "1777000001", "1777000002", "1777000003"

    emulator.add_template(TEMPLATE, body="Hello {{1}}")
    emulator.set_template_status(TEMPLATE, "PAUSED")  # first mirrored: no change yet
    asked = emulator.customer_text(waiting, "hola, quiero hablar con un humano")
    stop = emulator.customer_text(leaving, "STOP")

    wait_for(
        "the handoff on the bus",
        lambda: app.of("conversation.handoff_requested", wa_id=waiting),
        timeout=120,
    )
    from wacloud.conversations import resolve

    resolve(PNID, waiting, by="operator-1", at=time.time())
    wait_for("the template mirrored", lambda: _mirrored_status(emulator) == "PAUSED", timeout=60)
    emulator.set_template_status(TEMPLATE, "APPROVED")

    wait_for("the resolution", lambda: app.of("conversation.resolved", wa_id=waiting), timeout=60)
    wait_for("the opt-out", lambda: app.of("contact.opted_out", wa_id=leaving), timeout=60)
    wait_for(
        "the template approved again",
        lambda: app.of("template.status_changed", template_name=TEMPLATE, status="APPROVED"),
        timeout=60,
    )
    wait_for(
        "the notice read",
        lambda: any(
            "read" in d["crossed"] for d in app.of("message.status_changed", wa_id=waiting)
        ),
        timeout=60,
    )
    # Every webhook (and its duplicate) in and handled; then one last change to follow
    # them through the stream.
    settle(stack, quiet=2.0, timeout=90)
    wait_inbound_drained(stack, timeout=150)
    assert any(w.get("duplicate") for w in emulator.webhooks()), "no webhook was duplicated"
    from wacloud.store import contacts

    contacts.apply_consent(PNID, last, opted_out=True, at=time.time(), reason="test")
    wait_for("the last change's event", lambda: app.of("contact.opted_out", wa_id=last), timeout=60)

    events = app.received()
    ids = Counter(e["detail"]["id"] for e in events)
    assert [i for i, n in ids.items() if n > 1] == []
    for event in events:
        assert event["source"] == "wacloud"
        errors = [e.message for e in validator(event["detail-type"]).iter_errors(event["detail"])]
        assert errors == [], (event["detail-type"], errors)
        assert not {"text", "body", "caption"} & set(event["detail"])

    received = [d["wamid"] for d in app.of("message.received", phone_number_id=PNID)]
    assert sorted(w for w in received if w in (asked, stop)) == sorted([asked, stop])
    assert len(app.of("conversation.handoff_requested", wa_id=waiting)) == 1
    assert [d["resolved_by"] for d in app.of("conversation.resolved", wa_id=waiting)] == ["agent"]
    assert len(app.of("contact.opted_out", wa_id=leaving)) == 1
    (template,) = app.of("template.status_changed", template_name=TEMPLATE)
    assert (template["previous"], template["status"]) == ("PAUSED", "APPROVED")
    # Our replies (the handoff notice, the opt-out confirmation): each funnel step of
    # each message crossed in exactly one event, each status reached once.
    for customer in (waiting, leaving):
        statuses = app.of("message.status_changed", wa_id=customer)
        assert statuses, customer
        by_message: dict[str, list[dict[str, Any]]] = {}
        for detail in statuses:
            by_message.setdefault(detail["message_id"], []).append(detail)
        for message_id, changes in by_message.items():
            steps = [s for d in changes for s in d["crossed"]]
            assert sorted(steps) == sorted(set(steps)), (message_id, steps)
            assert {"sent", "delivered", "read"} <= set(steps), (message_id, steps)
            reached = [d["status"] for d in changes if d["status"] != d["previous"]]
            assert len(reached) == len(set(reached)), (message_id, reached)


def _mirrored_status(emulator: Any) -> str | None:
    from local.emulator import DEFAULT_WABA_ID
    from wacloud.templates.sync import load_template

    item = load_template(DEFAULT_WABA_ID, TEMPLATE, "en_US")
    return str(item["status"]) if item else None
