"""InboundProcessor on moto: read receipts, typing, media on the record, keywords."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.function_apps import inbound_features
from wacloud.graph.client import GraphTransportError, MediaInfo
from wacloud.inbound.media import TransientMediaError
from wacloud.inbound.processor import (
    OPT_IN_CONFIRMATION,
    OPT_OUT_CONFIRMATION,
    InboundOptions,
    InboundProcessor,
)
from wacloud.inbound.responder import EchoResponder, NoReply, Responder
from wacloud.infra import aws, config
from wacloud.infra.config import ConfigurationError, env_flag
from wacloud.store import contacts
from wacloud.store import inbound_log as events

PAYLOADS = Path(__file__).parent.parent / "payloads"
PNID = "100000000000001"
CUSTOMER = "15551234567"
BUCKET = "media"
JPEG = b"\xff\xd8\xff" + b"j" * 500


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def text_webhook(body: str, wamid: str = "wamid.T1") -> dict[str, Any]:
    doc = payload("message_text.json")
    message = doc["entry"][0]["changes"][0]["value"]["messages"][0]
    message["text"]["body"] = body
    message["id"] = wamid
    return doc


@pytest.fixture
def aws_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TABLE_NAME", "state")
    monkeypatch.setenv("META_SECRET_ID", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("MARK_AS_READ", "TYPING_INDICATOR", "OPT_OUT_KEYWORDS", "OPT_IN_KEYWORDS"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="state",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()


class Recorder:
    def __init__(self) -> None:
        self.submitted: list[dict[str, Any]] = []
        self.reads: list[tuple[str, str, bool]] = []

    def submit(self, docs: list[dict[str, Any]]) -> None:
        self.submitted.extend(docs)

    def mark_read(self, pnid: str, wamid: str, typing: bool) -> None:
        self.reads.append((pnid, wamid, typing))


class FakeMedia:
    def __init__(self, data: bytes, failures: list[Exception] | None = None) -> None:
        self.data = data
        self.failures = failures or []

    def get_media(self, media_id: str, phone_number_id: str) -> MediaInfo:
        if self.failures:
            raise self.failures.pop(0)
        return MediaInfo(
            media_id,
            f"https://x/{media_id}",
            "image/jpeg",
            hashlib.sha256(self.data).hexdigest(),
            len(self.data),
        )

    def download_media(self, url: str, phone_number_id: str, max_bytes: int) -> bytes:
        return self.data


def make(
    recorder: Recorder,
    responder: Responder | None = None,
    options: InboundOptions | None = None,
    media: FakeMedia | None = None,
    numbers_of_waba: Callable[[str], list[str]] | None = None,
) -> InboundProcessor:
    processor = InboundProcessor(
        responder=responder or EchoResponder(),
        submit=recorder.submit,
        mark_read=recorder.mark_read,
        options=options or InboundOptions.from_env(),
        media_source=media or FakeMedia(JPEG),
        media_store=aws.s3(),
        media_bucket=BUCKET,
    )
    features = inbound_features()
    return features(processor, numbers_of_waba) if numbers_of_waba else features(processor)


def inbound_record(wamid: str) -> dict[str, Any] | None:
    return next((i for i in events.conversation(PNID, CUSTOMER) if i.get("wamid") == wamid), None)


# ------------------------------------------------------------------ options
def test_options_default_on(aws_state: None) -> None:
    assert InboundOptions.from_env() == InboundOptions(mark_as_read=True, typing_indicator=True)


@pytest.mark.parametrize(("raw", "value"), [("false", False), ("0", False), ("YES", True)])
def test_env_flag_parses(monkeypatch: pytest.MonkeyPatch, raw: str, value: bool) -> None:
    monkeypatch.setenv("X_FLAG", raw)
    assert env_flag("X_FLAG", not value) is value


def test_env_flag_rejects_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ConfigurationError):
        env_flag("X_FLAG", True)


# ------------------------------------------------------------------ read + typing
def test_read_receipt_with_typing_when_a_reply_follows(aws_state: None) -> None:
    rec = Recorder()
    make(rec).process(text_webhook("hello"))
    assert rec.reads == [(PNID, "wamid.T1", True)]
    assert len(rec.submitted) == 1
    assert rec.submitted[0]["idempotency_key"] == "reply:wamid.T1:0"


def test_read_receipt_without_typing_when_no_reply(aws_state: None) -> None:
    rec = Recorder()
    make(rec, responder=NoReply()).process(text_webhook("hello"))
    assert rec.reads == [(PNID, "wamid.T1", False)]
    assert rec.submitted == []


def test_mark_as_read_off(monkeypatch: pytest.MonkeyPatch, aws_state: None) -> None:
    monkeypatch.setenv("MARK_AS_READ", "false")
    rec = Recorder()
    make(rec).process(text_webhook("hello"))
    assert rec.reads == []
    assert len(rec.submitted) == 1


def test_typing_indicator_off(monkeypatch: pytest.MonkeyPatch, aws_state: None) -> None:
    monkeypatch.setenv("TYPING_INDICATOR", "false")
    rec = Recorder()
    make(rec).process(text_webhook("hello"))
    assert rec.reads == [(PNID, "wamid.T1", False)]


def test_failed_read_receipt_does_not_lose_the_reply(aws_state: None) -> None:
    rec = Recorder()

    def broken(pnid: str, wamid: str, typing: bool) -> None:
        raise GraphTransportError("down")

    processor = make(rec)
    processor.mark_read = broken
    processor.process(text_webhook("hello"))
    assert len(rec.submitted) == 1
    assert inbound_record("wamid.T1") is not None


def test_system_messages_are_not_marked_read(aws_state: None) -> None:
    rec = Recorder()
    make(rec).process(payload("message_system_user_changed_number.json"))
    assert rec.reads == []


# ------------------------------------------------------------------ media
def test_image_is_cached_and_on_the_record(aws_state: None) -> None:
    doc = payload("message_image.json")
    image = doc["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    image["sha256"] = hashlib.sha256(JPEG).hexdigest()
    rec = Recorder()
    effects = make(rec).process(doc)
    assert "media_stored" in effects[0].notes
    record = inbound_record("wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzIMAGE0001")
    assert record is not None
    assert record["media"]["s3_key"] == f"media/{image['sha256']}"
    assert record["media"]["mime_type"] == "image/jpeg"
    assert record["media"]["size"] == len(JPEG)
    assert "media_error" not in record


def test_hash_mismatch_keeps_the_message_with_a_media_error(aws_state: None) -> None:
    rec = Recorder()
    make(rec).process(payload("message_image.json"))  # corpus hash is not of JPEG
    record = inbound_record("wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzIMAGE0001")
    assert record is not None
    assert record["media_error"]["code"] == "sha256_mismatch"
    assert "media" not in record
    assert len(rec.submitted) == 1  # the customer is still answered


def test_transient_media_failure_retries_with_nothing_written(aws_state: None) -> None:
    rec = Recorder()
    media = FakeMedia(JPEG, failures=[GraphTransportError("timeout")])
    processor = make(rec, media=media)
    doc = payload("message_image.json")
    with pytest.raises(TransientMediaError):
        processor.process(doc)
    assert inbound_record("wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzIMAGE0001") is None
    assert contacts.load(PNID, CUSTOMER) is None
    assert rec.submitted == [] and rec.reads == []


def test_transient_media_failure_on_the_final_attempt_is_recorded(aws_state: None) -> None:
    rec = Recorder()
    media = FakeMedia(JPEG, failures=[GraphTransportError("timeout")])
    make(rec, media=media).process(payload("message_image.json"), final_attempt=True)
    record = inbound_record("wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzIMAGE0001")
    assert record is not None
    assert record["media_error"]["code"] == "unavailable"
    assert record["media_error"]["transient"] is True


# ------------------------------------------------------------------ duplicates, keywords
def test_reprocessing_records_once_and_reuses_the_reply_key(aws_state: None) -> None:
    rec = Recorder()
    processor = make(rec)
    first = processor.process(text_webhook("hello"))
    second = processor.process(copy.deepcopy(text_webhook("hello")))
    assert first[0].recorded is True and second[0].recorded is False
    keys = {d["idempotency_key"] for d in rec.submitted}
    assert keys == {"reply:wamid.T1:0"}  # the sender sends one message per key


@pytest.mark.parametrize("word", ["STOP", " stop ", "Unsubscribe"])
def test_stop_keyword_opts_out_with_confirmation(aws_state: None, word: str) -> None:
    rec = Recorder()
    effects = make(rec).process(text_webhook(word))
    assert "opted_out" in effects[0].notes
    contact = contacts.load(PNID, CUSTOMER)
    assert contact is not None and contact["opted_out_marketing"] is True
    assert [d["text"]["body"] for d in rec.submitted] == [OPT_OUT_CONFIRMATION]


def test_start_keyword_opts_back_in(aws_state: None) -> None:
    rec = Recorder()
    processor = make(rec)
    processor.process(text_webhook("STOP", "wamid.S"))
    start = text_webhook("START", "wamid.G")
    message = start["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(message["timestamp"]) + 1)  # a later choice than STOP
    processor.process(start)
    contact = contacts.load(PNID, CUSTOMER)
    assert contact is not None and contact["opted_out_marketing"] is False
    assert [d["text"]["body"] for d in rec.submitted] == [
        OPT_OUT_CONFIRMATION,
        OPT_IN_CONFIRMATION,
    ]


def test_user_preferences_stop_marks_the_contact(aws_state: None) -> None:
    rec = Recorder()
    effects = make(rec).process(payload("field_user_preferences_stop.json"))
    assert effects[0].notes == ["marketing_stop"]
    contact = contacts.load(PNID, CUSTOMER)
    assert contact is not None and contact["opted_out_marketing"] is True
    assert contact["opted_out_marketing_reason"] == "user_preferences"


def test_unknown_field_and_type_are_recorded_not_fatal(aws_state: None) -> None:
    rec = Recorder()
    processor = make(rec)
    field_effects = processor.process(payload("field_unknown.json"))
    message_effects = processor.process(payload("message_unknown_type.json"))
    assert all(e.recorded for e in field_effects + message_effects)


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("field_business_capability_update.json", 1000),
        ("field_phone_number_quality_update.json", None),
    ],
)
def test_announced_messaging_limit_paces_every_number_of_the_waba(
    aws_state: None, name: str, stored: int | None
) -> None:
    """The limit is per business portfolio: the WABA's two numbers share 2,000 (-1 is
    unlimited); a number of another WABA keeps its own."""
    from wacloud.store import tenants

    processor = make(
        Recorder(),
        numbers_of_waba=lambda waba: {"200000000000001": [PNID, "100000000000009"]}.get(waba, []),
    )
    effects = processor.process(payload(name))
    assert effects[0].notes == [f"messaging_limit:{2000 if stored else -1}"]
    tenants._cache.clear()
    assert tenants.load(PNID).messaging_limit == stored
    assert tenants.load("100000000000009").messaging_limit == stored
    assert tenants.load("100000000000002").messaging_limit == tenants.DEFAULT_MESSAGING_LIMIT


@pytest.mark.parametrize(
    ("value", "limit"),
    [
        ({"max_daily_conversations_per_business": 10000}, 10000),
        ({"max_daily_conversations_per_business": "-1"}, -1),
        ({"max_daily_conversation_per_phone": "TIER_100K"}, 100000),
        ({"max_daily_conversations_per_business": "TIER_250"}, 250),
        ({"max_daily_conversations_per_business": "soon"}, None),
        ({"max_phone_numbers_per_waba": 25}, None),
    ],
)
def test_announced_limit_spellings(value: dict[str, Any], limit: int | None) -> None:
    from wacloud.outbound.messaging_limit import announced_limit

    assert announced_limit(value) == limit


def test_a_status_recorded_by_a_delivery_that_died_is_still_counted(aws_state: None) -> None:
    """The Lambda recorded the status, then timed out before counting it; Meta's (or
    SQS's) redelivery finds it recorded, and must still count it, once."""
    from wacloud.infra.dynamo import get
    from wacloud.store import messages
    from wacloud.store.campaigns import campaign_pk

    doc = payload("status_delivered.json")
    status = doc["entry"][0]["changes"][0]["value"]["statuses"][0]
    status["biz_opaque_callback_data"] = messages.tracking_callback("m1", None)
    messages.record_new(PNID, "m1", messages.State.SENT, {"campaign_id": "c1", "variant": "B"})
    # What the dead delivery got done: the status is on record, nothing counted.
    assert events.record_status(PNID, status["id"], "delivered", 1750000101.0, {})

    processor = make(Recorder())
    for _ in range(2):  # the redelivery, and one more duplicate
        (effects,) = processor.process(doc)
        assert not effects.recorded
    figures = get(campaign_pk(PNID, "c1"), "M#m1") or {}
    assert figures.get("figures") == {"delivered", "sent"}


# ------------------------------------------------------------------ media pending
class Retries:
    """The inbound queue as far as media retries go: items and their delays."""

    def __init__(self) -> None:
        self.items: list[tuple[dict[str, Any], int]] = []

    def __call__(self, body: dict[str, Any], delay: int) -> None:
        self.items.append((body, delay))


def test_media_unavailable_now_is_recorded_answered_then_attached(aws_state: None) -> None:
    rec, retries = Recorder(), Retries()
    media = FakeMedia(JPEG, failures=[GraphTransportError("timeout")])
    processor = make(rec, media=media)
    processor.retry_media = retries
    doc = payload("message_image.json")
    image = doc["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    image["sha256"] = hashlib.sha256(JPEG).hexdigest()
    wamid = "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzIMAGE0001"
    (effects,) = processor.process(doc)
    assert effects.recorded and "media_pending" in effects.notes
    record = inbound_record(wamid)
    assert record is not None and record["media_status"] == "pending"
    assert "media" not in record and "media_error" not in record
    assert len(rec.submitted) == 1 and contacts.load(PNID, CUSTOMER) is not None
    ((retry, delay),) = retries.items
    assert delay == 60
    (attached,) = processor.process(json.loads(json.dumps(retry)))
    assert attached.recorded and attached.notes == ["media_stored"]
    record = inbound_record(wamid)
    assert record is not None and record["media_status"] == "stored"
    assert record["media"]["s3_key"] == f"media/{image['sha256']}"
    # A duplicate retry changes nothing, and nothing was answered twice.
    (again,) = processor.process(retry)
    assert not again.recorded
    assert len(rec.submitted) == 1 and len(retries.items) == 1


def test_media_that_never_arrives_is_marked_failed_on_the_last_retry(aws_state: None) -> None:
    rec, retries = Recorder(), Retries()
    media = FakeMedia(JPEG, failures=[GraphTransportError("timeout")] * 10)
    processor = make(rec, media=media)
    processor.retry_media = retries
    processor.process(payload("message_image.json"))
    for attempt in range(1, 5):
        body, _delay = retries.items[-1]
        assert body["media_retry"]["attempt"] == attempt
        (effects,) = processor.process(body)
        assert effects.notes == ["media_pending"]
        assert retries.items[-1][1] == min(900, 60 * 2**attempt)
    (effects,) = processor.process(retries.items[-1][0])  # the 5th and last try
    assert effects.notes == ["media_error"]
    record = inbound_record("wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzIMAGE0001")
    assert record is not None and record["media_status"] == "failed"
    assert record["media_error"]["code"] == "unavailable"
    assert len(retries.items) == 5 and len(rec.submitted) == 1


# ------------------------------------------------------------------ responder protocol
class Seen:
    """A responder that keeps what it was given and answers "on its way"."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def respond(self, message: Any) -> Any:
        from wacloud.inbound import Response

        self.messages.append(message)
        return Response(pending=True)


def test_an_answer_on_its_way_shows_typing_and_sends_nothing_now(aws_state: None) -> None:
    rec, seen = Recorder(), Seen()
    effects = make(rec, responder=seen).process(text_webhook("hello"))
    assert rec.reads == [(PNID, "wamid.T1", True)]
    assert rec.submitted == []
    assert "answer_pending" in effects[0].notes
    (message,) = seen.messages
    assert message.text == "hello" and message.at > 0 and message.media is None


def test_the_responder_gets_the_stored_media(aws_state: None) -> None:
    doc = payload("message_image.json")
    image = doc["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    image["sha256"] = hashlib.sha256(JPEG).hexdigest()
    seen = Seen()
    make(Recorder(), responder=seen).process(doc)
    (message,) = seen.messages
    assert message.media.s3_key == f"media/{image['sha256']}"
    assert message.media.mime_type == "image/jpeg" and message.media.bucket == BUCKET
