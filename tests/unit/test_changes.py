"""Facts from the state table's change stream (wacloud.store.changes).

The records are real: the stores' own functions write to a moto table with its stream
on, and the stream's records (DynamoDB JSON images, as Lambda delivers them) are read
back and decoded. So an item shape a store changes is a test here that changes too.

moto writes a stream record for every write, also one that changes nothing (DynamoDB
writes none then), and an upsert of a new item as two INSERTs (keys, then the item):
the decoders must mean nothing by those, which these tests cover on the way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.unit.conftest import mocked_state_table
from tests.unit.function_apps import load_app
from wacloud.models.facts import (
    AssistantAnswered,
    CampaignCompleted,
    ContactOptedOut,
    ConversationHandoffRequested,
    ConversationOpened,
    ConversationResolved,
    Fact,
    MessageReceived,
    MessageStatusChanged,
    SurveyAnswered,
    TemplateStatusChanged,
)
from wacloud.models.outbound.submission import Submission
from wacloud.store import campaigns, contacts, conversations, inbound_log, messages
from wacloud.store import template_mirror as mirror
from wacloud.store.changes import facts_of

PNID = "106540352242922"
WA_ID = "15550001111"
PRICING = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}


class Stream:
    """The table's stream, read from where the last read stopped."""

    def __init__(self) -> None:
        client = boto3.client("dynamodb")
        description = client.update_table(
            TableName="state",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        self.arn = description["LatestStreamArn"]
        self.streams = boto3.client("dynamodbstreams")
        shard = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]
        self.iterator = self.streams.get_shard_iterator(
            StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]

    def records(self) -> list[dict[str, Any]]:
        response = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = response["NextShardIterator"]
        return [_as_lambda_sends(r) for r in response["Records"]]

    def facts(self) -> list[Fact]:
        return [fact for record in self.records() for fact in facts_of(record)]


def _as_lambda_sends(record: dict[str, Any]) -> dict[str, Any]:
    """boto3 parses the creation time; Lambda sends epoch seconds (JSON)."""
    change = dict(record["dynamodb"])
    change["ApproximateCreationDateTime"] = change["ApproximateCreationDateTime"].timestamp()
    return {**record, "dynamodb": change}


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stream]:
    with mocked_state_table(monkeypatch):
        yield Stream()


def _outbound(message_id: str, **extra: Any) -> str:
    """An outbound template message of a campaign, recorded as every producer does."""
    submission = Submission.model_validate(
        {
            "phone_number_id": PNID,
            "to": f"+{WA_ID}",
            "type": "template",
            "template": {"name": "order_update", "language": {"code": "en_US"}},
            "campaign_id": "c1",
            "variant": "B",
            "idempotency_key": message_id,
            **extra,
        }
    )
    body = submission.model_dump_json()
    fields = messages.outbound_fields(submission, body)
    assert messages.record_new(PNID, message_id, messages.State.ACCEPTED, fields)
    return message_id


def _sent_by_sender(message_id: str, wamid: str) -> None:
    claim = messages.claim(PNID, message_id, {})
    assert claim.outcome is messages.ClaimOutcome.CLAIMED and claim.token
    messages.mark_sent(PNID, message_id, claim.token, wamid, WA_ID)


def _status(message_id: str, wamid: str, status: str, at: float, **detail: Any) -> bool:
    return messages.apply_status(PNID, message_id, status, at, wamid, detail or None)


def _statuses(facts: list[Fact]) -> list[MessageStatusChanged]:
    found = [f for f in facts if isinstance(f, MessageStatusChanged)]
    assert len(found) == len(facts), facts
    return found


# ------------------------------------------------------------------ outbound messages
def test_a_round_trip_with_duplicates_and_a_late_delivered_gives_each_step_once(
    stream: Stream,
) -> None:
    mid, wamid = _outbound("m-round-trip"), "wamid.RT"
    _sent_by_sender(mid, wamid)
    # Meta's statuses: sent (priced) finds the record sent already; read overtakes
    # delivered; then delivered (priced, as Meta does on one of delivered/read) and
    # every status once more.
    _status(mid, wamid, "sent", 1000, pricing=PRICING)
    _status(mid, wamid, "read", 1010)
    _status(mid, wamid, "delivered", 1005, pricing=PRICING)
    _status(mid, wamid, "sent", 1000, pricing=PRICING)
    _status(mid, wamid, "read", 1010)
    facts = _statuses(stream.facts())

    pk = messages.message_pk(PNID, mid)
    assert [(f.id, f.previous, f.status, f.crossed) for f in facts] == [
        (f"{pk}#sent", "sending", "sent", ("sent",)),
        (f"{pk}#pricing", "sent", "sent", ()),
        (f"{pk}#read", "sent", "read", ("delivered", "read")),
    ]
    crossed = [step for f in facts for step in f.crossed]
    assert sorted(crossed) == ["delivered", "read", "sent"]
    priced = [f for f in facts if f.pricing_category]
    assert len(priced) == 1
    assert (priced[0].pricing_category, priced[0].pricing_type) == ("marketing", "regular")
    assert (priced[0].pricing_model, priced[0].billable) == ("PMP", True)
    read = facts[2]
    assert (read.wamid, read.wa_id, read.at) == (wamid, WA_ID, 1010.0)
    assert (read.template_name, read.template_language) == ("order_update", "en_US")
    assert (read.campaign_id, read.variant, read.message_type) == ("c1", "B", "template")
    assert read.message_id == mid and read.phone_number_id == PNID


def test_statuses_before_the_sender_records_sent_cross_every_step_once(stream: Stream) -> None:
    mid, wamid = _outbound("m-fast-webhooks"), "wamid.FAST"
    claim = messages.claim(PNID, mid, {})
    assert claim.token
    _status(mid, wamid, "read", 1010, pricing=PRICING)  # faster than the send's response
    messages.mark_sent(PNID, mid, claim.token, wamid, WA_ID)  # too late: kept read
    _status(mid, wamid, "delivered", 1005)
    _status(mid, wamid, "sent", 1000, pricing=PRICING)
    facts = _statuses(stream.facts())
    assert [(f.previous, f.status, f.crossed) for f in facts] == [
        ("sending", "read", ("sent", "delivered", "read"))
    ]
    assert facts[0].pricing_category == "marketing"


def test_a_failed_status_carries_its_error_codes_and_crosses_nothing(stream: Stream) -> None:
    mid, wamid = _outbound("m-failed"), "wamid.FAIL"
    _sent_by_sender(mid, wamid)
    errors = [{"code": 131026, "title": "Message undeliverable", "message": "x"}]
    _status(mid, wamid, "failed", 1003, errors=errors)
    _status(mid, wamid, "failed", 1003, errors=errors)  # Meta repeats it
    facts = _statuses(stream.facts())
    assert [(f.status, f.crossed, f.error_codes) for f in facts] == [
        ("sent", ("sent",), ()),
        ("failed", (), (131026,)),
    ]
    assert facts[1].at == 1003.0


def test_a_send_graph_refused_is_failed_with_graph_code(stream: Stream) -> None:
    mid = _outbound("m-refused")
    claim = messages.claim(PNID, mid, {})
    assert claim.token
    messages.mark_failed(PNID, mid, {"code": 131047, "title": "Re-engagement"}, claim.token)
    facts = _statuses(stream.facts())
    assert [(f.previous, f.status, f.crossed, f.error_codes) for f in facts] == [
        ("sending", "failed", (), (131047,))
    ]


def test_played_is_crossed_only_when_reached(stream: Stream) -> None:
    mid, wamid = _outbound("m-voice"), "wamid.VOICE"
    _sent_by_sender(mid, wamid)
    _status(mid, wamid, "read", 1010)
    _status(mid, wamid, "played", 1020)
    facts = _statuses(stream.facts())
    assert [f.crossed for f in facts] == [("sent",), ("delivered", "read"), ("played",)]


def test_the_senders_own_steps_are_no_facts(stream: Stream) -> None:
    mid = _outbound("m-deferred")
    claim = messages.claim(PNID, mid, {})
    assert claim.token
    messages.mark_deferred(PNID, mid, claim.token, {"reason": "pair_rate"}, 1e10)
    assert stream.facts() == []


def test_the_same_record_decoded_twice_gives_the_same_facts(stream: Stream) -> None:
    mid, wamid = _outbound("m-twice"), "wamid.TWICE"
    _sent_by_sender(mid, wamid)
    records = stream.records()
    assert [f for r in records for f in facts_of(r)] == [f for r in records for f in facts_of(r)]
    assert (
        facts_of(
            {"eventName": "REMOVE", "dynamodb": {"OldImage": records[-1]["dynamodb"]["NewImage"]}}
        )
        == []
    )


# ------------------------------------------------------------------ inbound
def test_an_inbound_message_is_received_once_with_its_reply_context(stream: Stream) -> None:
    content = {
        "from": WA_ID,
        "id": "wamid.IN1",
        "timestamp": "1000",
        "type": "text",
        "text": {"body": "yes please"},
        "context": {"from": PNID, "id": "wamid.OURS"},
        "referral": {"source_type": "ad", "source_id": "1"},
    }
    fields = {"type": "text", "content": content, "media_status": inbound_log.MEDIA_PENDING}
    assert inbound_log.record_inbound_message(PNID, "wamid.IN1", WA_ID, 1000.0, fields)
    assert not inbound_log.record_inbound_message(PNID, "wamid.IN1", WA_ID, 1000.0, fields)
    inbound_log.attach_media(PNID, "wamid.IN1", media=None, error={"code": "gone"})
    inbound_log.record_status(PNID, "wamid.OURS", "read", 1001.0, {})
    facts = stream.facts()
    assert facts == [
        MessageReceived(
            id=inbound_log.inbound_pk(PNID, "wamid.IN1"),
            phone_number_id=PNID,
            at=1000.0,
            wamid="wamid.IN1",
            wa_id=WA_ID,
            message_type="text",
            context_wamid="wamid.OURS",
            referral=True,
        )
    ]


# ------------------------------------------------------------------ conversations
def test_handoff_resolve_and_survey(stream: Stream) -> None:
    assert conversations.enter_handoff(PNID, WA_ID, reason="keyword", at=2000.0, until=9e9)
    assert not conversations.enter_handoff(PNID, WA_ID, reason="keyword", at=2001.0, until=9e9)
    conversations.add_tokens(PNID, WA_ID, 10)
    # The agent's first reply is kept (the first-response time); later ones are not.
    for reply_at in (2090.0, 2300.0):
        before = conversations.load(PNID, WA_ID)
        assert conversations.touch(PNID, WA_ID, before, at=reply_at, agent_reply=True)
    assert conversations.resolve(PNID, WA_ID, by="ana", at=2600.0) is not None
    assert conversations.note_survey(PNID, WA_ID, message_id="m-survey", at=2600.0)
    assert conversations.record_survey_answer(
        PNID, WA_ID, message_id="m-survey", answer="good", at=2700.0
    )
    assert not conversations.record_survey_answer(
        PNID, WA_ID, message_id="m-survey", answer="bad", at=2701.0
    )
    facts = stream.facts()
    assert [type(f) for f in facts] == [
        ConversationHandoffRequested,
        ConversationResolved,
        SurveyAnswered,
    ]
    handoff, resolved, survey = facts
    assert isinstance(handoff, ConversationHandoffRequested)
    assert (handoff.reason, handoff.at, handoff.wa_id) == ("keyword", 2000.0, WA_ID)
    assert isinstance(resolved, ConversationResolved)
    assert (resolved.resolved_by, resolved.agent, resolved.handed_off) == ("agent", "ana", True)
    assert resolved.resolution_seconds == 600.0
    assert resolved.first_response_seconds == 90.0
    assert isinstance(survey, SurveyAnswered)
    assert (survey.score, survey.agent, survey.at) == ("good", "ana", 2700.0)
    assert all(WA_ID not in f.id for f in facts), "ids are logged: no customer number"
    assert len({f.id for f in facts}) == 3


def test_a_bot_conversation_resolved_is_the_assistants(stream: Stream) -> None:
    conversations.add_tokens(PNID, WA_ID, 10)
    assert conversations.resolve(PNID, WA_ID, by="ana", at=3000.0) is not None
    (resolved,) = stream.facts()
    assert isinstance(resolved, ConversationResolved)
    assert (resolved.resolved_by, resolved.agent, resolved.handed_off) == (
        "assistant",
        None,
        False,
    )


# ------------------------------------------------------------------ campaigns, templates, contacts
def test_a_campaign_completes_once(stream: Stream) -> None:
    pk = campaigns.campaign_pk(PNID, "c1")
    assert campaigns.put_new(
        {"pk": pk, "sk": "#", "campaign_id": "c1", "status": "scheduled", "list_cursor": 0}
    )
    leased = campaigns.lease({"pk": pk}, 100.0)
    assert leased
    token, item = leased
    counts = {"queued#A": 2, "skipped#opted_out": 1}
    assert campaigns.commit(item, token, 10, counts, done=True)
    facts = stream.facts()
    assert [type(f) for f in facts] == [CampaignCompleted]
    completed = facts[0]
    assert isinstance(completed, CampaignCompleted)
    assert (completed.campaign_id, completed.counts) == ("c1", counts)


def test_template_status_and_quality_changes(stream: Stream) -> None:
    waba = "102290129340398"
    sk = mirror.template_sk("order_update", "en_US")
    mirror.upsert(waba, sk, {"name": "order_update", "language": "en_US", "status": "APPROVED"})
    mirror.upsert(waba, sk, {"status": "APPROVED", "synced_at": 5.0})  # the same again
    fields = {"status": "PAUSED", "status_reason": "LOW_QUALITY"}
    assert mirror.apply_if_newer(
        waba, "order_update", "en_US", fields, "message_template_status_update_at", 10.0
    )
    assert mirror.apply_if_newer(
        waba,
        "order_update",
        "en_US",
        {"quality": "RED"},
        "message_template_quality_update_at",
        11.0,
    )
    facts = stream.facts()
    assert [
        (f.previous, f.status, f.quality, f.reason, f.at)
        for f in facts
        if isinstance(f, TemplateStatusChanged)
    ] == [
        ("APPROVED", "PAUSED", None, "LOW_QUALITY", 10.0),
        ("PAUSED", "PAUSED", "RED", "LOW_QUALITY", 11.0),
    ]
    assert len(facts) == 2 and facts[0].phone_number_id == waba


def test_an_opt_out_is_a_fact_once(stream: Stream) -> None:
    assert contacts.apply_consent(PNID, WA_ID, opted_out=True, at=50.0, reason="keyword")
    assert contacts.apply_consent(PNID, WA_ID, opted_out=True, at=50.0, reason="keyword")
    assert contacts.apply_consent(PNID, WA_ID, opted_out=False, at=60.0, reason="keyword")
    assert contacts.apply_consent(PNID, WA_ID, opted_out=True, at=70.0, reason="keyword")
    facts = stream.facts()
    assert [(type(f), f.at) for f in facts] == [(ContactOptedOut, 50.0), (ContactOptedOut, 70.0)]
    assert all(WA_ID not in f.id for f in facts)


def _customer_writes(wa_id: str, at: float, *, from_ad: bool = False) -> None:
    contacts.record_customer_message(
        PNID,
        wa_id,
        at=at,
        profile_name=None,
        user_id=None,
        window_seconds=86400,
        free_entry_point=from_ad,
        wamid=f"wamid.{wa_id}.{at}",
    )


def test_a_conversation_opens_when_a_customer_writes_with_no_window_open(
    stream: Stream,
) -> None:
    _customer_writes(WA_ID, 1000.0)  # the first message ever: opens
    _customer_writes(WA_ID, 2000.0)  # inside the window: nothing
    _customer_writes(WA_ID, 1500.0)  # a late, older message: nothing
    _customer_writes(WA_ID, 2000.0 + 86399)  # a second before it closes: nothing
    _customer_writes(WA_ID, 2000.0 + 2 * 86400)  # closed since 174799: opens
    _customer_writes("15550002222", 500.0, from_ad=True)  # another, from an ad
    facts = stream.facts()
    assert all(isinstance(f, ConversationOpened) for f in facts)
    assert [(f.wa_id, f.at, f.origin) for f in facts if isinstance(f, ConversationOpened)] == [
        (WA_ID, 1000.0, "customer"),
        (WA_ID, 2000.0 + 2 * 86400, "customer"),
        ("15550002222", 500.0, "free_entry_point"),
    ]
    assert all(WA_ID not in f.id for f in facts)


# ------------------------------------------------------------------ the filter
def test_the_templates_filters_pass_every_fact_bearing_record(stream: Stream) -> None:
    """Every record that means a fact matches one of template.yaml's filters (local
    matcher, Lambda's syntax), and the filters drop most of the rest."""
    from local.streams import matches
    from local.template import load_sam_template

    sam = load_sam_template()
    mapping = sam["Resources"]["FactsFunction"]["Properties"]["Events"]["StateChanges"]
    filters = [json.loads(f["Pattern"]) for f in mapping["Properties"]["FilterCriteria"]["Filters"]]
    assert len(filters) <= 5

    mid, wamid = _outbound("m-filter"), "wamid.FILTER"
    _sent_by_sender(mid, wamid)
    _status(mid, wamid, "sent", 1000, pricing=PRICING)
    _status(mid, wamid, "delivered", 1005)
    fields = {"type": "text", "content": {"id": "wamid.IN2", "type": "text"}}
    inbound_log.record_inbound_message(PNID, "wamid.IN2", WA_ID, 1000.0, fields)
    inbound_log.record_status(PNID, wamid, "delivered", 1005.0, {})
    conversations.enter_handoff(PNID, WA_ID, reason="keyword", at=2000.0, until=9e9)
    conversations.resolve(PNID, WA_ID, by="ana", at=2600.0)
    contacts.apply_consent(PNID, WA_ID, opted_out=True, at=50.0, reason="keyword")
    _customer_writes(WA_ID, 3000.0)
    records = stream.records()
    bearing = [r for r in records if facts_of(r)]
    passed = [r for r in records if any(matches(f, r) for f in filters)]
    assert len(bearing) == 8
    assert all(any(matches(f, r) for f in filters) for r in bearing)
    assert len(passed) < len(records)


# ------------------------------------------------------------------ the function
class Context:
    function_name = "facts"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:facts"
    aws_request_id = "req"


def test_a_consumer_failure_fails_only_the_records_whose_facts_it_refused(
    stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "test")
    app = load_app("facts")
    good, bad = _outbound("m-good"), _outbound("m-bad")
    _sent_by_sender(good, "wamid.GOOD")
    _sent_by_sender(bad, "wamid.BAD")
    _status(good, "wamid.GOOD", "delivered", 1005)
    records = stream.records()
    delivered: list[str] = []

    def publish(facts: list[Fact]) -> None:
        if any(bad in f.id for f in facts):
            raise RuntimeError("the bus refused")
        delivered.extend(f.id for f in facts)

    monkeypatch.setattr(app.events_out, "publish", publish)
    result = app.lambda_handler({"Records": records}, Context())
    failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    bad_pk = messages.message_pk(PNID, bad)
    assert failed and all(
        r["dynamodb"]["Keys"]["pk"]["S"] == bad_pk
        for r in records
        if r["dynamodb"]["SequenceNumber"] in failed
    )
    assert sorted(delivered) == sorted(
        [f"{messages.message_pk(PNID, good)}#sent", f"{messages.message_pk(PNID, good)}#delivered"]
    )


# ------------------------------------------------------------------ replies
def test_a_customer_quoting_our_message_is_tied_to_it_and_its_campaign(stream: Stream) -> None:
    from wacloud.store.changes import with_replies

    assert messages.record_new(
        PNID, "m-ours", messages.State.ACCEPTED, {"to": WA_ID, "campaign_id": "spring"}
    )
    messages.link_wamid(PNID, "m-ours", "wamid.OURS")

    def received(wamid: str, context: str | None) -> MessageReceived:
        return MessageReceived(
            id=f"in-{wamid}", phone_number_id=PNID, at=1.0, wamid=wamid, wa_id=WA_ID,
            message_type="text", context_wamid=context,
        )  # fmt: skip

    quoting, own, plain = with_replies(
        [received("w1", "wamid.OURS"), received("w2", "wamid.THEIRS"), received("w3", None)]
    )
    assert isinstance(quoting, MessageReceived)
    assert (quoting.context_message_id, quoting.campaign_id) == ("m-ours", "spring")
    # Quoting a message that is not ours (their own, another system's) is no reply.
    assert isinstance(own, MessageReceived) and own.context_message_id is None
    assert isinstance(plain, MessageReceived) and plain.context_message_id is None


def test_the_function_emits_the_dashboards_funnel_and_cost(
    stream: Stream, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """FunnelSent... and CostAmount (service facts) are what the dashboard charts."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wacloud")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "facts")
    app = load_app("facts")
    monkeypatch.setattr(app.events_out, "publish", lambda facts: None)
    monkeypatch.setattr(app.lake, "deliver", lambda facts: None)
    one, two = _outbound("m-one"), _outbound("m-two")
    _sent_by_sender(one, "wamid.ONE")
    _sent_by_sender(two, "wamid.TWO")
    _status(one, "wamid.ONE", "read", 1005)  # crosses delivered and read
    at = 1_790_000_000.0  # 2026-09-21: the shipped rate card prices it
    pricing = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}
    _status(two, "wamid.TWO", "delivered", at, pricing=pricing)
    capsys.readouterr()
    app.lambda_handler({"Records": stream.records()}, Context())
    emitted: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        assert blob.get("service") == "facts"
        for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[metric["Name"]]
            emitted[metric["Name"]] = sum(value) if isinstance(value, list) else value
    assert emitted["FunnelSent"] == 2
    assert emitted["FunnelDelivered"] == 2 and emitted["FunnelRead"] == 1
    assert "FunnelFailed" not in emitted
    from wacloud.analytics.rate_card import rate_card

    card, day = rate_card(), "2026-09-21"
    rate = card.rate(day, card.market_of(WA_ID, day), "marketing")
    assert rate is not None and emitted["CostAmount"] == pytest.approx(float(rate))


def test_the_assistants_answer_is_a_fact_with_its_response_time(stream: Stream) -> None:
    from wacloud.store.changes import with_replies

    fields = {"type": "text", "content": {"id": "wamid.ASK", "type": "text"}}
    inbound_log.record_inbound_message(PNID, "wamid.ASK", WA_ID, 1000.0, fields)
    # The assistant keys its answer's parts assist:{wamid}:{i} (wacloud.assistant.answer).
    for part in (0, 1):
        mid = _outbound(f"m-answer-{part}", idempotency_key=f"assist:wamid.ASK:{part}")
        _sent_by_sender(mid, f"wamid.PART{part}")
    facts = with_replies(stream.facts())
    (answered,) = [f for f in facts if isinstance(f, AssistantAnswered)]
    assert (answered.answered_wamid, answered.message_id) == ("wamid.ASK", "m-answer-0")
    assert answered.response_seconds == pytest.approx(answered.at - 1000.0)
    assert answered.response_seconds is not None and answered.response_seconds > 0
    assert WA_ID not in answered.id
