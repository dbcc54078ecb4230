"""Human handoff on the local stack (#12): keywords in three languages, the menu's
"Talk to a person", silence while a person has the conversation, the business told
on its bus and its operators' topic, and the bot back after a release or the timeout.

What the stack publishes is read back from moto: a rule on the stack's bus and a
subscription to the handoff topic, each delivering to a queue of this test module.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from local.waiting import wait_for

pytestmark = pytest.mark.integration


class Published:
    """Events on the stack's bus and messages on the handoff topic, by customer."""

    def __init__(self, stack: LocalStack) -> None:
        sqs = stack.client("sqs")
        self.sqs = sqs

        def queue(name: str) -> tuple[str, str]:
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            return url, arn["Attributes"]["QueueArn"]

        self.events_url, events_arn = queue("test-handoff-events")
        self.topic_url, topic_arn = queue("test-handoff-topic")
        events = stack.client("events")
        bus = stack.business_event_bus
        events.put_rule(
            Name="test-wacloud-events", EventBusName=bus, EventPattern='{"source":["wacloud"]}'
        )
        events.put_targets(
            Rule="test-wacloud-events", EventBusName=bus, Targets=[{"Id": "q", "Arn": events_arn}]
        )
        stack.client("sns").subscribe(
            TopicArn=stack.outputs["HandoffTopicArn"],
            Protocol="sqs",
            Endpoint=topic_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self.events: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []

    def _drain(self, url: str, into: list[dict[str, Any]]) -> None:
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return
            for message in got:
                into.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def events_for(self, wa_id: str) -> list[dict[str, Any]]:
        self._drain(self.events_url, self.events)
        return [e for e in self.events if e["detail"].get("wa_id") == wa_id]

    def notes_for(self, wa_id: str) -> list[dict[str, Any]]:
        self._drain(self.topic_url, self.notes)
        return [n for n in self.notes if n.get("wa_id") == wa_id]


_published: dict[int, Published] = {}


@pytest.fixture
def published(stack: LocalStack) -> Published:
    if id(stack) not in _published:
        _published[id(stack)] = Published(stack)
        assert stack.emulator is not None
        stack.emulator.customer_text("15559990001", "warm up")  # cold starts, once
        wait_for("stack warm", lambda: sent("15559990001", stack), timeout=90)
    return _published[id(stack)]


def sent(customer: str, stack: LocalStack) -> list[str]:
    assert stack.emulator is not None
    return [
        m["payload"]["text"]["body"]
        for m in stack.emulator.sent_messages(to=customer)
        if m["payload"].get("type") == "text"
    ]


def wait_sent(stack: LocalStack, customer: str, count: int) -> list[str]:
    return wait_for(
        f"{count} message(s) to the customer",
        lambda: len(sent(customer, stack)) >= count and sent(customer, stack),
        timeout=60,
    )


def recorded(customer: str, wamid: str) -> bool:
    from wacloud.store import inbound_log

    return any(i.get("wamid") == wamid for i in inbound_log.conversation(PNID, customer))


def quiet_after(stack: LocalStack, customer: str, wamid: str, count: int) -> None:
    """The message was recorded and, a moment later, still nothing more was sent."""
    wait_for("message recorded", lambda: recorded(customer, wamid), timeout=60)
    time.sleep(3)
    assert len(sent(customer, stack)) == count


def handoffs(published: Published, customer: str) -> list[dict[str, Any]]:
    return [
        e
        for e in published.events_for(customer)
        if e["detail-type"] == "conversation.handoff_requested"
    ]


def conversation(customer: str) -> Any:
    from wacloud.store import conversations

    return conversations.load(PNID, customer)


def test_spanish_keyword_hands_over_tells_everyone_then_silence_until_released(
    stack: LocalStack, published: Published, customer: str
) -> None:
    assert stack.emulator is not None
    stack.emulator.customer_text(customer, "hola, quiero hablar con un humano")
    (notice,) = wait_sent(stack, customer, 1)
    assert notice.startswith("Gracias. Te paso con una persona de nuestro equipo")
    state = conversation(customer)
    assert state.in_handoff(time.time()) and state.handoff_reason == "keyword"

    # The operators' note is direct; the bus event comes from the facts feed (the state
    # table's stream, docs/events.md), once.
    (note,) = wait_for("SNS message", lambda: published.notes_for(customer), timeout=30)
    assert note["phone_number_id"] == PNID and "text" not in note
    assert note["reason"] == "keyword" and note["language"] == "es"
    (event,) = wait_for("event on the bus", lambda: handoffs(published, customer), timeout=60)
    assert event["source"] == "wacloud"
    assert event["detail"]["reason"] == "keyword" and event["detail"]["version"] == 1

    wamid = stack.emulator.customer_text(customer, "¿hola? ¿hay alguien?")
    quiet_after(stack, customer, wamid, 1)
    receipt = wait_for(
        "read receipt",
        lambda: [
            r["json"]
            for r in stack.emulator.requests()  # type: ignore[union-attr]
            if (r.get("json") or {}).get("message_id") == wamid
        ],
    )
    assert "typing_indicator" not in receipt[0]  # no typing: nobody is answering now
    assert len(handoffs(published, customer)) == 1

    from wacloud.conversations import release

    assert release(PNID, customer, by="operator-1", at=time.time())
    stack.emulator.customer_text(customer, "hola")
    menu = wait_sent(stack, customer, 2)[1]
    assert "1. Opening hours" in menu


@pytest.mark.parametrize(
    ("text", "opening"),
    [
        ("Can I talk to an agent please?", "Thanks! A member of our team will take over"),
        ("quero falar com um atendente", "Obrigado! Uma pessoa da nossa equipe vai assumir"),
    ],
)
def test_english_and_portuguese_keywords(
    stack: LocalStack, published: Published, customer: str, text: str, opening: str
) -> None:
    assert stack.emulator is not None
    stack.emulator.customer_text(customer, text)
    (notice,) = wait_sent(stack, customer, 1)
    assert notice.startswith(opening)
    assert conversation(customer).in_handoff(time.time())
    wait_for("event on the bus", lambda: handoffs(published, customer), timeout=60)


def test_menu_option_two_hands_over_and_the_timeout_gives_it_back(
    stack: LocalStack, published: Published, customer: str
) -> None:
    assert stack.emulator is not None
    stack.emulator.customer_text(customer, "2")
    (notice,) = wait_sent(stack, customer, 1)
    assert notice.startswith("Thanks! A member of our team will take over")
    assert conversation(customer).handoff_reason == "menu"
    (event,) = wait_for("event on the bus", lambda: handoffs(published, customer), timeout=60)
    assert event["detail"]["reason"] == "menu"

    wamid = stack.emulator.customer_text(customer, "hello?")
    quiet_after(stack, customer, wamid, 1)

    # The tenant's timeout passes (24 h by default): moved into the past here.
    from wacloud.infra.dynamo import Expr, update
    from wacloud.store.conversations import conversation_pk

    update(conversation_pk(PNID, customer), "#", Expr().set("handoff_until", time.time() - 1))
    stack.emulator.customer_text(customer, "hello")
    assert "1. Opening hours" in wait_sent(stack, customer, 2)[1]
    assert not conversation(customer).in_handoff(time.time())
