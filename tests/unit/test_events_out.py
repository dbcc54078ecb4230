"""Events out (#14): facts become events on the stack's bus, in PutEvents calls of at
most 10 entries and 256 KB, failed entries retried alone, and every detail valid
against its checked-in JSON Schema. What reaches the bus is read back over moto's API
(a rule on source ``wacloud`` delivering to a queue)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from jsonschema import Draft202012Validator

from tests.unit.conftest import mocked_state_table
from wacloud import events_out
from wacloud.events_out import bus as bus_module
from wacloud.events_out.details import PUBLIC, SOURCE, entry_of
from wacloud.events_out.schemas import FIELD_DOCS, schema_files
from wacloud.infra import aws
from wacloud.models.facts import (
    ANY_FACT,
    CampaignCompleted,
    ContactOptedOut,
    ConversationHandoffRequested,
    ConversationResolved,
    Fact,
    MessageReceived,
    MessageStatusChanged,
    SurveyAnswered,
    TemplateStatusChanged,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schema" / "events"
PNID = "1000"
WA = "15550001111"
AT = datetime(2024, 1, 1, 10, 0, 0, 250_000, tzinfo=UTC).timestamp()


def one_of_each() -> list[Fact]:
    """A fact of every type, with every optional field set (so the schemas see values)."""
    common: dict[str, Any] = {"phone_number_id": PNID, "at": AT}
    return [
        MessageReceived(
            id="f-received",
            wamid="wamid.IN",
            wa_id=WA,
            message_type="text",
            context_wamid="wamid.OUT",
            context_message_id="m-1",
            campaign_id="c-1",
            referral=True,
            **common,
        ),
        MessageStatusChanged(
            id="f-status",
            message_id="m-1",
            wamid="wamid.OUT",
            wa_id=WA,
            previous="sent",
            status="read",
            crossed=("delivered", "read"),
            message_type="template",
            template_name="promo",
            template_language="en",
            campaign_id="c-1",
            variant="B",
            error_codes=(131026,),
            pricing_category="marketing",
            pricing_type="regular",
            pricing_model="PMP",
            billable=True,
            **common,
        ),
        ConversationHandoffRequested(id="f-handoff", wa_id=WA, reason="keyword", **common),
        ConversationResolved(
            id="f-resolved",
            wa_id=WA,
            resolved_by="agent",
            agent="ana",
            handed_off=True,
            first_response_seconds=30.5,
            resolution_seconds=600.0,
            **common,
        ),
        SurveyAnswered(id="f-survey", wa_id=WA, score="good", agent="ana", **common),
        CampaignCompleted(id="f-campaign", campaign_id="c-1", counts={"sent": 9}, **common),
        TemplateStatusChanged(
            id="f-template",
            phone_number_id="waba-1",
            at=AT,
            waba_id="waba-1",
            template_name="promo",
            language="en",
            previous="APPROVED",
            status="PAUSED",
            quality="RED",
            reason="low quality",
        ),
        ContactOptedOut(id="f-optout", wa_id=WA, **common),
    ]


def minimal() -> list[Fact]:
    """Facts with only what they must have: the optional fields' nulls validate too."""
    return [
        MessageReceived(
            id="r2", phone_number_id=PNID, at=AT, wamid="w", wa_id=WA, message_type="text"
        ),
        MessageStatusChanged(
            id="s2",
            phone_number_id=PNID,
            at=AT,
            message_id="m",
            wamid=None,
            wa_id=WA,
            previous=None,
            status="accepted",
        ),
        ConversationHandoffRequested(id="h2", phone_number_id=PNID, at=AT, wa_id=WA),
        ConversationResolved(
            id="c2", phone_number_id=PNID, at=AT, wa_id=WA, resolved_by="assistant"
        ),
        TemplateStatusChanged(
            id="t2",
            phone_number_id="waba",
            at=AT,
            waba_id="waba",
            template_name="t",
            language="en",
            previous=None,
            status="APPROVED",
        ),
    ]


class Subscriber:
    """A business app: a rule on the bus for source ``wacloud``, delivering to a queue."""

    def __init__(self, bus: str) -> None:
        self.sqs = boto3.client("sqs")
        self.url = self.sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        events = boto3.client("events")
        events.create_event_bus(Name=bus)
        events.put_rule(Name="app", EventBusName=bus, EventPattern='{"source":["wacloud"]}')
        events.put_targets(
            Rule="app",
            EventBusName=bus,
            Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}],
        )

    def received(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while got := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for m in got:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
        return out


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Subscriber]:
    with mocked_state_table(monkeypatch, EVENT_BUS_NAME="business"):
        aws.events.cache_clear()
        yield Subscriber("business")
        aws.events.cache_clear()


class CountingClient:
    """The real (moto) client, with its PutEvents calls counted."""

    def __init__(self) -> None:
        self.inner = boto3.client("events")
        self.calls: list[int] = []

    def put_events(self, **kwargs: Any) -> Any:
        self.calls.append(len(kwargs["Entries"]))
        return self.inner.put_events(**kwargs)


def validator(detail_type: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{detail_type}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# ------------------------------------------------------------------ on the bus
def test_every_public_fact_reaches_a_subscriber_once_with_a_valid_detail(
    app: Subscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = CountingClient()
    monkeypatch.setattr(bus_module, "events", lambda: client)
    facts = one_of_each() + minimal()
    assert events_out.publish(facts) == len(facts)
    assert client.calls == [10, 3]

    received = app.received()
    assert sorted(e["detail"]["id"] for e in received) == sorted(f.id for f in facts)
    by_id = {f.id: f for f in facts}
    for event in received:
        fact = by_id[event["detail"]["id"]]
        assert event["source"] == SOURCE == "wacloud"
        assert event["detail-type"] == fact.TYPE
        assert event["time"].startswith("2024-01-01T10:00:00")
        detail = event["detail"]
        assert detail["version"] == 1 and detail["at"] == "2024-01-01T10:00:00.250Z"
        schema = validator(fact.TYPE)
        errors = [e.message for e in schema.iter_errors(detail)]
        assert errors == [], (fact.TYPE, errors)
        # Exactly the published keys, no more: the schema lists what a detail holds.
        assert set(detail) == set(schema.schema["properties"]), fact.TYPE
    status = next(e["detail"] for e in received if e["detail"]["id"] == "f-status")
    assert status["crossed"] == ["delivered", "read"] and status["error_codes"] == [131026]


def test_more_than_ten_go_in_calls_of_ten_in_order(
    app: Subscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = CountingClient()
    monkeypatch.setattr(bus_module, "events", lambda: client)
    facts = [
        ContactOptedOut(id=f"o-{i:02d}", phone_number_id=PNID, at=AT + i, wa_id=WA)
        for i in range(23)
    ]
    assert events_out.publish(facts) == 23
    assert client.calls == [10, 10, 3]
    assert sorted(e["detail"]["id"] for e in app.received()) == [f.id for f in facts]


def test_no_bus_configured_puts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    with mocked_state_table(monkeypatch):
        monkeypatch.delenv("EVENT_BUS_NAME", raising=False)

        def no_calls() -> Any:
            raise AssertionError("no client without a bus")

        monkeypatch.setattr(bus_module, "events", no_calls)
        assert events_out.publish(one_of_each()) == 0


def test_a_fact_that_is_not_public_is_not_put(
    app: Subscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Internal(Fact):
        TYPE = "internal.thing"

    assert entry_of(Internal(id="x", phone_number_id=PNID, at=AT), "business") is None
    assert events_out.publish([Internal(id="x", phone_number_id=PNID, at=AT)]) == 0
    assert app.received() == []


# ------------------------------------------------------------------ failures
class FlakyClient:
    """PutEvents that refuses the entries whose fact id is in ``refuse`` (with their
    error code) the first ``times`` calls they are in, and takes the rest."""

    def __init__(self, refuse: dict[str, str], times: int = 1) -> None:
        self.refuse, self.times = refuse, times
        self.seen: dict[str, int] = {}
        self.calls: list[list[str]] = []
        self.taken: list[str] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        ids = [json.loads(e["Detail"])["id"] for e in Entries]
        self.calls.append(ids)
        results: list[dict[str, Any]] = []
        for fact_id in ids:
            self.seen[fact_id] = self.seen.get(fact_id, 0) + 1
            code = self.refuse.get(fact_id)
            if code and self.seen[fact_id] <= self.times:
                results.append({"ErrorCode": code, "ErrorMessage": "no"})
            else:
                self.taken.append(fact_id)
                results.append({"EventId": f"e-{fact_id}"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    waits: list[float] = []
    env = {"EVENT_BUS_NAME": "business", "TABLE_NAME": "t", "META_SECRET_ID": "m"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from wacloud.infra import config

    config.settings.cache_clear()
    monkeypatch.setattr(bus_module, "sleep", waits.append)
    yield waits
    config.settings.cache_clear()


def test_only_the_failed_entries_are_sent_again(
    flaky: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FlakyClient({"f-status": "ThrottlingException", "f-optout": "InternalFailure"})
    monkeypatch.setattr(bus_module, "events", lambda: client)
    facts = one_of_each()
    assert events_out.publish(facts) == len(facts)
    assert client.calls[1] == ["f-status", "f-optout"]
    assert len(client.calls) == 2 and flaky == [bus_module.BACKOFF_SECONDS]
    assert sorted(client.taken) == sorted(f.id for f in facts)  # each taken once


def test_what_keeps_failing_raises_so_the_stream_records_are_retried(
    flaky: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FlakyClient({"f-handoff": "ThrottlingException"}, times=99)
    monkeypatch.setattr(bus_module, "events", lambda: client)
    with pytest.raises(events_out.EventsNotPublishedError, match="ThrottlingException"):
        events_out.publish(one_of_each())
    assert len(client.calls) == bus_module.ATTEMPTS
    assert all(call == ["f-handoff"] for call in client.calls[1:])
    assert flaky == [0.2, 0.4, 0.8]


def test_an_entry_refused_for_good_is_not_retried_here(
    flaky: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FlakyClient({"f-handoff": "AccessDeniedException"})
    monkeypatch.setattr(bus_module, "events", lambda: client)
    with pytest.raises(events_out.EventsNotPublishedError, match="AccessDeniedException"):
        events_out.publish(one_of_each())
    assert len(client.calls) == 1 and flaky == []


def test_calls_stay_under_256_kb() -> None:
    big = {"Source": SOURCE, "DetailType": "x", "Detail": "a" * 100_000, "Time": 1}
    small = {"Source": SOURCE, "DetailType": "x", "Detail": "{}"}
    sizes = [len(b) for b in bus_module.batches([big, big, big, small, big])]
    assert sizes == [2, 3]  # 2 x 100 KB; then 100 KB + small + 100 KB
    assert bus_module.entry_size(big) == 14 + 7 + 1 + 100_000
    with pytest.raises(events_out.EventTooLargeError):
        list(bus_module.batches([{**big, "Detail": "a" * (256 * 1024)}]))


# ------------------------------------------------------------------ the contract
def test_published_fields_exist_on_their_facts_and_are_documented() -> None:
    assert {e.fact for e in PUBLIC.values()} <= set(ANY_FACT)
    for detail_type, event in PUBLIC.items():
        names = {f.name for f in fields(event.fact)}
        assert set(event.fields) <= names, detail_type
        assert len(set(event.fields)) == len(event.fields), detail_type
        assert set(event.fields) <= set(FIELD_DOCS), detail_type


def test_no_detail_carries_message_text() -> None:
    """Ids and states only: a field that holds what someone wrote is never published."""
    words = {"text", "body", "caption", "content", "transcript", "answer", "comment"}
    for detail_type, event in PUBLIC.items():
        found = [f for f in event.fields if f == "message" or words & set(f.split("_"))]
        assert not found, detail_type


def test_the_six_events_of_the_issue_are_public() -> None:
    assert {
        "message.received",
        "message.status_changed",
        "conversation.handoff_requested",
        "campaign.completed",
        "template.status_changed",
        "contact.opted_out",
    } <= set(PUBLIC)


def test_the_checked_in_schemas_are_current() -> None:
    files = schema_files()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    assert on_disk == files, (
        "schema/events is stale: run `PYTHONPATH=layers/common/python "
        "python -m wacloud.events_out.schemas schema/events`"
    )


def test_one_source_for_every_wacloud_event() -> None:
    from wacloud.conversations.events import SOURCE as CONVERSATION_SOURCE

    assert SOURCE == CONVERSATION_SOURCE


def test_none_of_our_events_can_start_a_workflow() -> None:
    """The workflow rule matches sources under BusinessEventSourcePrefix; the parameter
    must end with a dot and ``wacloud`` has none, so no deployable prefix matches it."""
    from local.event_rules import business_event, matches
    from local.template import load_sam_template, translate

    cfn = translate(load_sam_template(), "us-east-1")
    parameter = cfn["Parameters"]["BusinessEventSourcePrefix"]
    allowed = re.compile(parameter["AllowedPattern"])
    assert allowed.fullmatch(parameter["Default"])
    assert not [p for p in (SOURCE[:n] for n in range(1, len(SOURCE) + 1)) if allowed.fullmatch(p)]

    rules = [
        r["Properties"]
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]
    ]
    assert rules
    for rule in rules:
        assert rule["EventBusName"] == {"Ref": "BusinessEventBus"}
        pattern = json.loads(
            json.dumps(rule["EventPattern"]).replace(
                json.dumps({"Ref": "BusinessEventSourcePrefix"}), json.dumps(parameter["Default"])
            )
        )
        for fact in one_of_each():
            detail = events_out.detail_of(fact)
            assert detail is not None
            event = business_event(fact.TYPE, detail, SOURCE, "us-east-1", "123456789012")
            assert not matches(pattern, event), fact.TYPE
        # The direct conversation events (assigned, released) share the source.
        assert not matches(pattern, business_event("conversation.released", {}, SOURCE, "r", "a"))
        assert matches(pattern, business_event("x", {}, "business.shop", "r", "a"))
