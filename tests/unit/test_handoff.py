"""Conversations and human handoff (#12): the state's transitions, keywords, the notice,
the events (once per handoff) and the gate in front of the responders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.unit.conftest import mocked_state_table
from wacloud.conversations import (
    HANDOFF_REASONS,
    HandoffGate,
    HandoffSettings,
    find_keyword,
    guess_language,
    handoff_notice,
    in_handoff,
    parse_hours,
    release,
    request_handoff,
)
from wacloud.inbound.responder import (
    EchoResponder,
    IncomingMessage,
    MenuResponder,
    NoReply,
    Response,
)
from wacloud.infra import aws, config
from wacloud.store import conversations as store

PNID = "1000"
WA = "15550001111"


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


MONDAY_10 = ts("2024-01-01T10:00:00")  # a Monday, inside 9:00-18:00 UTC
FRIDAY_19 = ts("2024-01-05T19:00:00")  # after closing on a Friday
TUESDAY_07 = ts("2024-01-02T07:00:00")  # before opening


class Bus:
    """What was published: the bus (through a rule to a queue) and the topic (a queue
    subscribed), read back over moto's API."""

    def __init__(self) -> None:
        sqs = boto3.client("sqs")
        self.sqs = sqs
        self.events_q = sqs.create_queue(QueueName="bus-events")["QueueUrl"]
        self.topic_q = sqs.create_queue(QueueName="topic-messages")["QueueUrl"]
        arn = lambda url: sqs.get_queue_attributes(  # noqa: E731
            QueueUrl=url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        events = boto3.client("events")
        events.create_event_bus(Name="business")
        events.put_rule(
            Name="all-wacloud", EventBusName="business", EventPattern='{"source":["wacloud"]}'
        )
        events.put_targets(
            Rule="all-wacloud",
            EventBusName="business",
            Targets=[{"Id": "q", "Arn": arn(self.events_q)}],
        )
        sns = boto3.client("sns")
        self.topic = sns.create_topic(Name="handoff")["TopicArn"]
        sns.subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=arn(self.topic_q),
            Attributes={"RawMessageDelivery": "true"},
        )

    def _drain(self, url: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for m in got:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def events(self) -> list[dict[str, Any]]:
        return self._drain(self.events_q)

    def topic_messages(self) -> list[dict[str, Any]]:
        return self._drain(self.topic_q)


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bus]:
    with mocked_state_table(monkeypatch, EVENT_BUS_NAME="business"):
        aws.events.cache_clear()
        aws.sns.cache_clear()
        made = Bus()
        monkeypatch.setenv("HANDOFF_TOPIC_ARN", made.topic)
        config.settings.cache_clear()
        yield made
        aws.events.cache_clear()
        aws.sns.cache_clear()


def message(
    text: str | None, *, at: float = MONDAY_10, wamid: str = "wamid.1", reply_id: str | None = None
) -> IncomingMessage:
    return IncomingMessage(PNID, WA, wamid, "text", text, reply_id, "Ana", at=at)


def body(response: Response) -> str:
    (reply,) = response.replies
    return str(reply["text"]["body"])


# ------------------------------------------------------------------ state
def test_enter_twice_enters_once_and_release_returns_to_the_bot(bus: Bus) -> None:
    until = MONDAY_10 + 3600
    assert store.enter_handoff(PNID, WA, reason="keyword", at=MONDAY_10, until=until)
    assert not store.enter_handoff(PNID, WA, reason="menu", at=MONDAY_10 + 1, until=until + 1)
    conversation = store.load(PNID, WA)
    assert conversation.state == "handoff" and conversation.handoff_reason == "keyword"
    assert conversation.in_handoff(MONDAY_10 + 10)
    assert store.release(PNID, WA, by="op-1", at=MONDAY_10 + 20)
    assert not store.release(PNID, WA, by="op-1", at=MONDAY_10 + 21)
    released = store.load(PNID, WA)
    assert released.state == "bot" and released.released_by == "op-1"
    assert not released.in_handoff(MONDAY_10 + 30)
    assert store.enter_handoff(PNID, WA, reason="menu", at=MONDAY_10 + 40, until=until + 40)


def test_an_expired_handoff_may_be_entered_again(bus: Bus) -> None:
    assert store.enter_handoff(PNID, WA, reason="keyword", at=MONDAY_10, until=MONDAY_10 + 60)
    assert not store.load(PNID, WA).in_handoff(MONDAY_10 + 60)
    assert store.enter_handoff(
        PNID, WA, reason="complaint", at=MONDAY_10 + 61, until=MONDAY_10 + 99
    )
    assert store.load(PNID, WA).handoff_reason == "complaint"


def test_tokens_add_up_and_the_summary_only_moves_forward(bus: Bus) -> None:
    assert store.add_tokens(PNID, WA, 120) == 120
    assert store.add_tokens(PNID, WA, 30) == 150
    assert store.set_summary(PNID, WA, summary="new", upto="20", at=MONDAY_10)
    assert not store.set_summary(PNID, WA, summary="old", upto="10", at=MONDAY_10)
    conversation = store.load(PNID, WA)
    assert (conversation.summary, conversation.summary_upto, conversation.tokens) == (
        "new",
        "20",
        150,
    )
    item = conversation.to_item()
    assert item["pk"] == f"{PNID}#CONV#{WA}" and item["sk"] == "#"
    assert store.Conversation.from_item(PNID, WA, item) == conversation


def test_no_item_is_a_bot_conversation(bus: Bus) -> None:
    assert store.load(PNID, "999").state == "bot"
    assert not in_handoff(PNID, "999", at=MONDAY_10)


# ------------------------------------------------------------------ keywords
@pytest.mark.parametrize(
    "text",
    [
        "hola, quiero hablar con un humano",
        "Quiero un ASESOR por favor",
        "¿Me pasas con una persona?",
        "HÚMANO!!",
        "I want to talk to a human",
        "Agent please",
        "can I speak to a representative?",
        "quero falar com um atendente",
        "Preciso de uma PESSOA",
        "Atendente, por favor",
    ],
)
def test_handoff_keywords_in_spanish_english_and_portuguese(text: str) -> None:
    assert find_keyword(text, HandoffSettings().keywords)


@pytest.mark.parametrize(
    "text", ["quiero personalizar mi pedido", "reagentes", "humanity", "hello", "", None]
)
def test_not_keywords(text: str | None) -> None:
    assert find_keyword(text, HandoffSettings().keywords) is None


def test_tenant_keywords_replace_the_defaults() -> None:
    assert find_keyword("quiero un Encargado", ("encargado",)) == "encargado"
    assert find_keyword("human", ("encargado",)) is None


def test_language_guess() -> None:
    assert guess_language("hola, quiero hablar con un humano") == "es"
    assert guess_language("quero falar com um atendente") == "pt"
    assert guess_language("I want to talk to a human") == "en"
    assert guess_language("2") is None


# ------------------------------------------------------------------ the notice
def test_notice_inside_hours_announces_the_wait() -> None:
    settings = HandoffSettings(wait_minutes=10)
    assert "10 minutos" in handoff_notice(settings, language="es", at=MONDAY_10)
    assert "10 minutes" in handoff_notice(settings, language="en", at=MONDAY_10)
    assert "10 minutos" in handoff_notice(settings, language="pt", at=MONDAY_10)
    assert "10 minutes" in handoff_notice(settings, language="fr", at=MONDAY_10)


def test_notice_outside_hours_says_when_we_open() -> None:
    settings = HandoffSettings()
    assert handoff_notice(settings, language="es", at=FRIDAY_19).endswith("el lunes a las 09:00.")
    assert handoff_notice(settings, language="en", at=FRIDAY_19).endswith("on Monday at 09:00.")
    assert handoff_notice(settings, language="pt", at=FRIDAY_19).endswith("segunda-feira às 09:00.")
    assert handoff_notice(settings, language="en", at=TUESDAY_07).endswith("today at 09:00.")
    assert "mañana a las 09:00" in handoff_notice(
        settings, language="es", at=ts("2024-01-02T18:30:00")
    )


def test_notice_uses_the_tenants_time_zone_and_hours() -> None:
    settings = HandoffSettings(
        time_zone="America/Sao_Paulo",  # UTC-3
        hours=parse_hours({"mon": "08:00-12:00", "sat": ["10:00-13:00"]}),
    )
    # 10:00 UTC on Monday is 07:00 in São Paulo: closed until 08:00 today.
    assert handoff_notice(settings, language="pt", at=MONDAY_10).endswith("hoje às 08:00.")
    # 12:00 UTC is 09:00 there: open.
    assert "minutos" in handoff_notice(settings, language="pt", at=MONDAY_10 + 7200)
    # Monday 13:00 there: next is Saturday 10:00.
    assert handoff_notice(settings, language="en", at=MONDAY_10 + 6 * 3600).endswith(
        "on Saturday at 10:00."
    )
    no_hours = HandoffSettings(hours={})
    assert "as soon as possible" in handoff_notice(no_hours, language="en", at=MONDAY_10)


def test_malformed_hours_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_hours({"mon": "18:00-09:00"})


# ------------------------------------------------------------------ events
def test_request_handoff_tells_the_operators_once_and_leaves_the_bus_to_the_feed(
    bus: Bus,
) -> None:
    """The operators' topic is told at once; `conversation.handoff_requested` reaches the
    bus from the change stream only (wacloud.events_out), never from here too."""
    assert request_handoff(PNID, WA, reason="keyword", at=MONDAY_10, language="es")
    assert not request_handoff(PNID, WA, reason="complaint", at=MONDAY_10 + 5)
    assert bus.events() == []
    (note,) = bus.topic_messages()
    assert note["phone_number_id"] == PNID and note["wa_id"] == WA
    assert note["reason"] == "keyword" and note["language"] == "es"
    assert store.load(PNID, WA).notified_at is not None

    assert release(PNID, WA, by="op-7", at=MONDAY_10 + 60)
    assert not release(PNID, WA, by="op-7", at=MONDAY_10 + 61)
    (released,) = bus.events()
    assert released["source"] == "wacloud"
    assert released["detail-type"] == "conversation.released"
    assert released["detail"]["by"] == "op-7"
    assert bus.topic_messages() == []  # operators are told of requests only


def test_unknown_reason_is_refused(bus: Bus) -> None:
    with pytest.raises(ValueError):
        request_handoff(PNID, WA, reason="bored", at=MONDAY_10)
    assert {"keyword", "menu", "operator", "budget_exhausted"} <= HANDOFF_REASONS


def test_a_redelivery_finishes_a_handoff_whose_events_failed(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wacloud.conversations import handoff

    def down(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("EventBridge unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(handoff, "tell_operators", down)
        with pytest.raises(RuntimeError):
            request_handoff(PNID, WA, reason="keyword", at=MONDAY_10, wamid="wamid.A")
    assert store.load(PNID, WA).notified_at is None
    # Another message does not take over the pending one...
    assert not request_handoff(PNID, WA, reason="keyword", at=MONDAY_10 + 1, wamid="wamid.B")
    # ...the redelivered one does, once.
    assert request_handoff(PNID, WA, reason="keyword", at=MONDAY_10 + 2, wamid="wamid.A")
    assert request_handoff(PNID, WA, reason="keyword", at=MONDAY_10 + 3, wamid="wamid.A")
    assert len(bus.topic_messages()) == 1 and bus.events() == []


# ------------------------------------------------------------------ the gate
def gate(inner: Any = None) -> HandoffGate:
    return HandoffGate(inner or MenuResponder(), settings_of=lambda pnid: HandoffSettings())


def test_keyword_hands_over_with_the_notice_then_silence(bus: Bus) -> None:
    g = gate()
    answer = g.respond(message("hola, quiero hablar con un humano"))
    assert "en unos 15 minutos" in body(answer) and not answer.pending
    assert in_handoff(PNID, WA, at=MONDAY_10 + 1)
    assert g.respond(message("hola?", wamid="wamid.2", at=MONDAY_10 + 5)) == Response()
    assert g.respond(message("humano!!", wamid="wamid.3", at=MONDAY_10 + 6)) == Response()
    # A redelivery of the message that asked: the same notice (its reply key makes it
    # go once), no second note.
    again = g.respond(message("hola, quiero hablar con un humano", at=MONDAY_10 + 7))
    assert body(again) == body(answer)
    assert len(bus.topic_messages()) == 1


def test_menu_option_two_hands_over(bus: Bus) -> None:
    answer = gate().respond(message("2", at=FRIDAY_19))
    assert body(answer).endswith("on Monday at 09:00.")
    assert store.load(PNID, WA).handoff_reason == "menu"
    (note,) = bus.topic_messages()
    assert note["reason"] == "menu"


def test_released_or_expired_the_bot_answers_again(bus: Bus) -> None:
    g = gate(EchoResponder())
    g.respond(message("agent"))
    assert release(PNID, WA, by="op", at=MONDAY_10 + 10)
    assert body(g.respond(message("hi", wamid="wamid.2", at=MONDAY_10 + 11))) == "You said: hi"
    g.respond(message("agent", wamid="wamid.3", at=MONDAY_10 + 12))
    later = MONDAY_10 + 12 + HandoffSettings().timeout_seconds
    assert g.respond(message("hi", wamid="wamid.4", at=later - 1)) == Response()
    assert body(g.respond(message("hi", wamid="wamid.5", at=later))) == "You said: hi"


def test_other_messages_go_to_the_inner_responder(bus: Bus) -> None:
    assert body(gate().respond(message("1"))).startswith("We are open")
    assert gate(NoReply()).respond(message("hello")) == Response()
    assert not in_handoff(PNID, WA, at=MONDAY_10)
    assert bus.topic_messages() == []


def test_the_menu_alone_still_answers_option_two() -> None:
    answer = MenuResponder().respond(message("2"))
    assert answer.handoff == "menu"
    assert body(answer) == MenuResponder.ANSWERS["2"]
