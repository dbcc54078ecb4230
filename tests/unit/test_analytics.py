"""The daily aggregates: a scripted day's funnel and cost to the unit, each fact counted
once however often its batch is delivered, the rate card, and the monthly cost alert
(against moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.unit.conftest import mocked_state_table
from wacloud import analytics
from wacloud.analytics import alert
from wacloud.analytics.rate_card import parse, rate_card
from wacloud.infra import aws
from wacloud.models.facts import (
    AssistantAnswered,
    ConversationHandoffRequested,
    ConversationOpened,
    ConversationResolved,
    Fact,
    MessageReceived,
    MessageStatusChanged,
    SurveyAnswered,
    TemplateStatusChanged,
)
from wacloud.store import analytics as store

PNID = "100000000000077"
DAY = "2026-11-10"
AT = datetime(2026, 11, 10, 9, 0, tzinfo=UTC).timestamp()
DE, IN, US = "4915100000001", "919800000002", "12025550003"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    alert._alerted.clear()
    with mocked_state_table(monkeypatch) as name:
        yield name


def status(
    message: str,
    step: str,
    previous: str | None,
    crossed: tuple[str, ...],
    *,
    wa_id: str = DE,
    minute: int = 0,
    **fields: Any,
) -> MessageStatusChanged:
    return MessageStatusChanged(
        id=f"st:{message}:{step}",
        phone_number_id=PNID,
        at=AT + minute * 60,
        message_id=message,
        wamid=f"wamid.{message}",
        wa_id=wa_id,
        previous=previous,
        status=step,
        crossed=crossed,
        **fields,
    )


PROMO: dict[str, Any] = {"template_name": "promo", "template_language": "en", "campaign_id": "c1"}
MARKETING: dict[str, Any] = {
    "pricing_category": "marketing",
    "pricing_type": "regular",
    "pricing_model": "PMP",
    "billable": True,
}


def scripted_day() -> list[Fact]:
    """One day of one number, as the facts feed yields it (states only move forward, so
    Meta's repeated or reordered statuses become these facts: no fact for a status
    that moves nothing, a jump that crosses the steps it skipped)."""
    return [
        # m1: campaign template to Germany, billed; sent, delivered, read.
        status("m1", "sent", "accepted", ("sent",), **PROMO, **MARKETING),
        status("m1", "delivered", "sent", ("delivered",), minute=1, **PROMO),
        status("m1", "read", "delivered", ("read",), minute=2, **PROMO),
        # m2: to India; `read` arrived before `delivered` and `sent` (out of order):
        # one change crossing all three, the later statuses moving nothing.
        status(
            "m2", "read", "accepted", ("sent", "delivered", "read"), wa_id=IN, **PROMO, **MARKETING
        ),
        # m3: a utility template inside the service window: priced, free.
        status(
            "m3",
            "sent",
            "accepted",
            ("sent",),
            wa_id=US,
            template_name="order_update",
            template_language="en_US",
            pricing_category="utility",
            pricing_type="free_customer_service",
            billable=False,
        ),
        status(
            "m3",
            "delivered",
            "sent",
            ("delivered",),
            wa_id=US,
            template_name="order_update",
            template_language="en_US",
        ),
        # m4: a text reply that failed after it was sent.
        status(
            "m4",
            "sent",
            "accepted",
            ("sent",),
            pricing_category="service",
            pricing_type="free_customer_service",
            billable=False,
        ),
        status("m4", "failed", "sent", (), error_codes=(131049,)),
        # m5: a campaign template that failed before anything else.
        status("m5", "failed", "accepted", (), error_codes=(131026,), **PROMO),
        # The customers.
        MessageReceived(
            id="in:1",
            phone_number_id=PNID,
            at=AT + 300,
            wamid="wamid.i1",
            wa_id=DE,
            message_type="text",
            context_wamid="wamid.m1",
            context_message_id="m1",
            campaign_id="c1",
        ),
        MessageReceived(
            id="in:2",
            phone_number_id=PNID,
            at=AT + 400,
            wamid="wamid.i2",
            wa_id=US,
            message_type="text",
            referral=True,
        ),
        MessageReceived(
            id="in:3",
            phone_number_id=PNID,
            at=AT + 500,
            wamid="wamid.i3",
            wa_id=IN,
            message_type="text",
        ),
        # The windows those messages opened: the US customer's from the ad, the Indian
        # customer's on their own; the German customer's window was open (m1's reply
        # quotes a message of the day: no new conversation). Two more customers open
        # one each and the assistant carries them.
        ConversationOpened(
            id="op:1", phone_number_id=PNID, at=AT + 400, wa_id=US, origin="free_entry_point"
        ),
        ConversationOpened(
            id="op:2", phone_number_id=PNID, at=AT + 500, wa_id=IN, origin="customer"
        ),
        ConversationOpened(
            id="op:3", phone_number_id=PNID, at=AT + 510, wa_id="441", origin="customer"
        ),
        ConversationOpened(
            id="op:4", phone_number_id=PNID, at=AT + 520, wa_id="442", origin="customer"
        ),
        # The assistant answered the Indian customer 3.5 s after their message.
        AssistantAnswered(
            id="an:1",
            phone_number_id=PNID,
            at=AT + 503.5,
            wa_id=IN,
            message_id="m9",
            answered_wamid="wamid.i3",
            response_seconds=3.5,
        ),
        ConversationHandoffRequested(
            id="ho:1", phone_number_id=PNID, at=AT + 600, wa_id=US, reason="asked_for_human"
        ),
        ConversationResolved(
            id="rs:1",
            phone_number_id=PNID,
            at=AT + 700,
            wa_id=IN,
            resolved_by="assistant",
            first_response_seconds=2.5,
            resolution_seconds=60.0,
        ),
        ConversationResolved(
            id="rs:2",
            phone_number_id=PNID,
            at=AT + 800,
            wa_id=US,
            resolved_by="agent",
            agent="ana",
            handed_off=True,
            first_response_seconds=30.0,
            resolution_seconds=600.0,
        ),
        SurveyAnswered(
            id="sv:1", phone_number_id=PNID, at=AT + 900, wa_id=US, score="good", agent="ana"
        ),
        TemplateStatusChanged(
            id="tp:1",
            phone_number_id="waba",
            at=AT,
            waba_id="waba",
            template_name="promo",
            language="en",
            previous="PENDING",
            status="APPROVED",
        ),
    ]


EXPECTED_FUNNEL = {
    "in": 3,
    "out": 4,
    "sent": 4,
    "delivered": 3,
    "read": 2,
    "played": 0,
    "failed": 2,
    "replied": 1,
}
# Germany and India's marketing rates of the shipped card (EUR, from 2026-07-01).
EXPECTED_COST = Decimal("0.1131") + Decimal("0.0099")


def test_a_scripted_day_funnel_and_cost_match_to_the_unit(table: str) -> None:
    analytics.record_facts(scripted_day())
    report = analytics.funnel(PNID, DAY, DAY)
    assert report["totals"] == EXPECTED_FUNNEL
    assert report["days"] == [{"day": DAY, **EXPECTED_FUNNEL}]
    assert report["by_category"] == {"marketing": 2, "service": 1, "utility": 1}
    assert report["rates"]["read"] == 0.5

    cost = analytics.cost(PNID, DAY, DAY)
    assert cost["currency"] == "EUR" and cost["rate_cards"] == ["2026-07-01"]
    assert Decimal(str(cost["totals"]["cost"])) == EXPECTED_COST
    assert cost["totals"]["billable"] == 2 and cost["totals"]["unpriced"] == 0
    assert cost["totals"]["by_market"] == {"Germany": 0.1131, "India": 0.0099}
    assert cost["totals"]["by_category"] == {"marketing": float(EXPECTED_COST)}


def test_templates_campaigns_conversations_and_failures(table: str) -> None:
    analytics.record_facts(scripted_day())
    templates = {t["template"]: t for t in analytics.templates(PNID, DAY, DAY)["items"]}
    promo = templates["promo"]["totals"]
    assert (promo["sent"], promo["delivered"], promo["read"], promo["failed"]) == (2, 2, 2, 1)
    assert Decimal(str(promo["cost"])) == EXPECTED_COST
    assert templates["order_update"]["totals"]["cost"] == 0

    (campaign,) = analytics.campaigns(PNID, DAY, DAY)["items"]
    assert campaign["campaign_id"] == "c1"
    assert campaign["totals"]["replied"] == 1 and campaign["totals"]["out"] == 2

    conversations = analytics.conversations(PNID, DAY, DAY)["totals"]
    assert conversations["opened_customer"] == 3
    assert conversations["opened_free_entry_point"] == 1
    assert conversations["opened_business"] == 2
    assert conversations["handoffs"] == 1
    # Four conversations customers opened, one handed to a person.
    assert conversations["handoff_rate"] == 0.25
    assert conversations["assistant_resolution_rate"] == 0.75
    # The assistant: the answer's 3.5 s and the resolved conversation's 2.5 s.
    assert conversations["first_response_seconds"] == {"assistant": 3.0, "agent": 30.0}
    assert conversations["satisfaction"] == {"good": 1, "ok": 0, "bad": 0}
    (agent,) = analytics.conversations(PNID, DAY, DAY)["agents"]
    assert agent["agent"] == "ana" and agent["resolution_seconds"] == 600.0

    failures = analytics.failures(PNID, DAY, DAY)["totals"]
    assert failures == {"failed": 2, "by_code": {"131026": 1, "131049": 1}}


def test_the_same_batch_twice_counts_once(table: str) -> None:
    facts = scripted_day()
    first = analytics.record_facts(facts)
    assert (first.counted, first.duplicates) == (len(facts) - 1, 0)  # the WABA fact adds nothing
    assert first.calls == first.transactions == 1
    again = analytics.record_facts(facts)
    assert (again.counted, again.duplicates) == (0, len(facts) - 1)
    # One cancelled transaction, then one per fact (each cancelled: counted already).
    assert again.calls == 1 + again.duplicates and again.transactions == 0
    assert analytics.funnel(PNID, DAY, DAY)["totals"] == EXPECTED_FUNNEL


def test_a_redelivered_batch_with_new_facts_counts_only_the_new(table: str) -> None:
    facts = scripted_day()
    analytics.record_facts(facts[:5])
    recorded = analytics.record_facts(facts)  # the first five again, and the rest
    assert recorded.duplicates == 5
    assert analytics.funnel(PNID, DAY, DAY)["totals"] == EXPECTED_FUNNEL
    assert Decimal(str(analytics.cost(PNID, DAY, DAY)["totals"]["cost"])) == EXPECTED_COST


def test_a_fact_twice_in_one_batch_counts_once(table: str) -> None:
    fact = status("m9", "sent", "accepted", ("sent",))
    recorded = analytics.record_facts([fact, fact])
    assert recorded.counted == 1
    assert analytics.funnel(PNID, DAY, DAY)["totals"]["sent"] == 1


def test_a_large_batch_is_split_into_transactions_of_at_most_100(table: str) -> None:
    facts = [status(f"n{i}", "sent", "accepted", ("sent",)) for i in range(250)]
    recorded = analytics.record_facts(facts)
    # 250 markers + 1 aggregate: three transactions (99 + 99 + 52 facts).
    assert recorded.counted == 250 and recorded.transactions == 3 == recorded.calls
    assert analytics.funnel(PNID, DAY, DAY)["totals"]["sent"] == 250


def test_markers_expire_after_a_few_days(table: str) -> None:
    analytics.record_facts([status("m1", "sent", "accepted", ("sent",))])
    marker = boto3.client("dynamodb").get_item(
        TableName="state", Key={"pk": {"S": store.marker_pk(PNID, "st:m1:sent")}, "sk": {"S": "#"}}
    )["Item"]
    ttl = int(marker["expires_at"]["N"]) - datetime.now(UTC).timestamp()
    assert 3 * 86400 < ttl <= store.MARKER_DAYS * 86400 + 5


def test_a_concurrent_transaction_is_retried(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    client = aws.dynamodb()
    real = client.transact_write_items
    conflicts = iter([True, True])
    monkeypatch.setattr(store, "_CONFLICT_PAUSE_SECONDS", 0)

    def flaky(**kwargs: Any) -> Any:
        if next(conflicts, False):
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "x"},
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", flaky)
    recorded = analytics.record_facts([status("m1", "sent", "accepted", ("sent",))])
    assert (recorded.counted, recorded.calls, recorded.transactions) == (1, 3, 1)


def test_cancellation_reasons_are_read_from_the_message_too() -> None:
    from botocore.exceptions import ClientError

    exc = ClientError(
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for "
                "specific reasons [None, ConditionalCheckFailed]",
            }
        },
        "TransactWriteItems",
    )
    assert store.cancellation_reasons(exc) == ["None", "ConditionalCheckFailed"]


# ----------------------------------------------------------------- the rate card
def test_the_shipped_rate_card_is_complete_and_one_currency() -> None:
    card = rate_card()
    assert card.currency == "EUR"
    for c in card.cards:
        markets = set(c.calling_codes.values()) | {card.default_market}
        assert markets <= set(c.rates), markets - set(c.rates)
        for market, rates in c.rates.items():
            assert {"marketing", "utility", "authentication"} <= set(rates), market


@pytest.mark.parametrize(
    ("wa_id", "market"),
    [
        ("4915100000001", "Germany"),
        ("12025550003", "North America"),
        ("18095550000", "Rest of Latin America"),  # Dominican Republic, inside +1
        ("35799000000", "Other"),  # Cyprus: not in the card's table (see docs)
        ("380501234567", "Rest of Central & Eastern Europe"),
        ("85291234567", "Hong Kong"),
        ("861012345678", "Rest of Asia Pacific"),
    ],
)
def test_markets_by_longest_calling_code_prefix(wa_id: str, market: str) -> None:
    assert rate_card().market_of(wa_id, DAY) == market


def test_a_rate_applies_from_its_effective_date() -> None:
    card = parse(
        {
            "currency": "USD",
            "cards": [
                {
                    "effective": "2026-01-01",
                    "rates": {"X": {"marketing": "0.0100"}},
                    "calling_codes": {"9": "X"},
                },
                {"effective": "2026-10-01", "rates": {"X": {"marketing": "0.0200"}}},
            ],
        }
    )
    assert card.rate("2025-12-31", "X", "marketing") is None
    assert card.rate("2026-09-30", "X", "marketing") == Decimal("0.0100")
    assert card.rate("2026-10-01", "X", "marketing") == Decimal("0.0200")
    assert card.market_of("9123", "2026-11-01") == "X"  # the mapping carries forward
    assert card.rate("2026-10-01", "X", "authentication-international") is None


# ----------------------------------------------------------------- the cost alert
@pytest.fixture
def alarmed(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A state table, an alarm topic with a queue subscribed, a threshold of 0.10."""
    alert._alerted.clear()
    with mocked_state_table(monkeypatch, COST_MONTHLY_THRESHOLD="0.10") as name:
        aws.sns.cache_clear()
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="alarms")["TopicArn"]
        queue = sqs.create_queue(QueueName="alarms")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
        monkeypatch.setenv("ALARM_TOPIC_ARN", topic)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "facts")  # the Facts function's
        from wacloud.infra import config

        config.settings.cache_clear()
        yield queue
        aws.sns.cache_clear()
    del name


def _alerts(queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


def test_the_monthly_cost_alert_is_sent_once(
    alarmed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # One German marketing message (0.1131) passes the 0.10 threshold.
    analytics.record_facts([status("m1", "sent", "accepted", ("sent",), **MARKETING)])
    (emf,) = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and "CostThresholdExceeded" in line and '"_aws"' in line
    ]
    # What the template's CostThresholdAlarm watches: namespace wacloud, service=facts.
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "wacloud" and directive["Dimensions"] == [["service"]]
    assert emf["service"] == "facts" and emf["CostThresholdExceeded"] == [1.0]
    alert._alerted.clear()  # another container: it must find the marker
    analytics.record_facts([status("m2", "sent", "accepted", ("sent",), **MARKETING)])
    assert "CostThresholdExceeded" not in capsys.readouterr().out
    (sent,) = _alerts(alarmed)
    assert sent["alert"] == "CostThresholdExceeded" and sent["month"] == "2026-11"
    assert sent["phone_number_id"] == PNID and sent["currency"] == "EUR"
    assert DE not in json.dumps(sent)


def test_no_alert_under_the_threshold(alarmed: str) -> None:
    analytics.record_facts([status("m1", "sent", "accepted", ("sent",), wa_id=IN, **MARKETING)])
    assert _alerts(alarmed) == []


def test_an_alert_that_could_not_be_sent_is_sent_by_the_retry(
    alarmed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = alert._send
    failing = iter([True])

    def send(*args: Any) -> None:
        if next(failing, False):
            raise RuntimeError("SNS unavailable")
        real(*args)

    monkeypatch.setattr(alert, "_send", send)
    fact = status("m1", "sent", "accepted", ("sent",), **MARKETING)
    with pytest.raises(RuntimeError):
        analytics.record_facts([fact])  # counted, but the alert failed: the batch fails
    analytics.record_facts([fact])  # Lambda's retry: counted already, the alert goes now
    assert len(_alerts(alarmed)) == 1
    analytics.record_facts([status("m2", "sent", "accepted", ("sent",), **MARKETING)])
    assert _alerts(alarmed) == []
    assert analytics.funnel(PNID, DAY, DAY)["totals"]["sent"] == 2


def test_meta_rate_card_csv_becomes_a_card() -> None:
    from wacloud.analytics.rate_card import card_from_csv

    text = (
        "WhatsApp Business Platform rate card,,,,,,\n"
        "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\n"
        "Germany,EUR,0.1131,0.0456,0.0456,n/a,n/a\n"
        "India,EUR,0.0099,0.0012,0.0012,0.0252,\n"
    )
    currency, rates = card_from_csv(text)
    assert currency == "EUR"
    assert rates["Germany"] == {
        "marketing": "0.1131",
        "utility": "0.0456",
        "authentication": "0.0456",
    }
    assert rates["India"]["authentication_international"] == "0.0252"
