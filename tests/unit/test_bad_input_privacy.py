"""Bad input through the real sender and inbound paths: a clear outcome, nothing valid
lost, and no marker value (numbers, text, links, birthdays) in any log or escaped error.

Logs are captured both ways Powertools may write them: JSON lines on stdout (capsys)
and records on the logging tree (caplog). Every case also checks that the reason or
the error still names the field and what is wrong.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from pydantic import BaseModel, ValidationError

from tests.unit.conftest import mocked_state_table
from tests.unit.test_sender import FakeGraph, open_window
from wacloud.inbound.processor import PARKED_INBOUND_PREFIX, InboundProcessor
from wacloud.inbound.responder import EchoResponder, IncomingMessage
from wacloud.infra import aws, config
from wacloud.infra.privacy import scrub_errors, scrub_exception, scrubbed
from wacloud.models.outbound.submission import SUBMISSION_MAX_BYTES
from wacloud.outbound.sender import Outcome, Sender
from wacloud.store import messages

# Part of the bad-input suite (README, "Security"): `pytest -m bad_input`.
pytestmark = pytest.mark.bad_input

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT / "tests" / "payloads"
PNID = "100000000000001"
TO = "15550009999"
TEXT = "MARKER-TEXT-7731"
LINK = "https://marker.example/secret-7731"
BIRTHDAY = "7731-99-31"
MARKERS = (TO, TEXT, "marker.example", "secret-7731", BIRTHDAY)
BUCKET = "media"


def assert_clean(*texts: str) -> None:
    for text in texts:
        for marker in MARKERS:
            assert marker not in text, f"{marker!r} leaked into: {text[:300]}"


def exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def captured(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    out, err = capsys.readouterr()
    records = "\n".join(
        r.getMessage() + " " + json.dumps(r.__dict__, default=str) for r in caplog.records
    )
    return "\n".join((out, err, records, caplog.text))


# ---------------------------------------------------------------------- the scrubber


class _Doc(BaseModel):
    to: int
    note: str


def test_scrubbed_errors_keep_where_and_what_but_no_input() -> None:
    with pytest.raises(ValidationError) as info:
        _Doc.model_validate({"to": TEXT, "note": 15550009999, LINK: 1, TO: BIRTHDAY})
    assert TEXT in str(info.value)  # what pydantic itself would have logged
    errors = scrub_errors(info.value)
    assert [e["loc"] for e in errors] == [["to"], ["note"]]
    assert all(set(e) == {"loc", "type", "msg"} for e in errors)
    error = scrubbed(info.value, "doc")
    assert "to: Input should be a valid integer" in str(error)
    assert_clean(json.dumps(errors), *exception_texts(error))


def test_scrub_exception_replaces_a_chained_validation_error() -> None:
    def fail() -> None:
        try:
            _Doc.model_validate({"to": TEXT, "note": "x"})
        except ValidationError as exc:
            raise RuntimeError("wrapped") from exc

    with pytest.raises(RuntimeError) as info:
        fail()
    safe = scrub_exception(info.value)
    assert safe is not info.value and "to:" in str(safe)
    assert_clean(*exception_texts(safe))
    plain = ValueError("nothing to scrub")
    assert scrub_exception(plain) is plain


# ---------------------------------------------------------------------- sender


def base(**extra: Any) -> dict[str, Any]:
    return {
        "phone_number_id": PNID,
        "to": TO,
        "type": "text",
        "text": {"body": TEXT},
        "idempotency_key": "bad",
        **extra,
    }


def swap(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "text"}
    out.update(fields)
    return out


def buttons(*ids: str) -> dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": TEXT},
        "action": {"buttons": [{"type": "reply", "reply": {"id": i, "title": "t"}} for i in ids]},
    }


# (case id, submission body, words the rejection reason must contain)
SENDER_CASES: list[tuple[str, str, str]] = [
    ("to letters", json.dumps(base(to=f"{TO}-{TEXT}")), "to: must be a phone number"),
    ("to too long", json.dumps(base(to=TO * 2)), "to: must have 7-15 digits"),
    ("to int", json.dumps(base(to=int(TO))), "to: Input should be a valid string"),
    ("text too long", json.dumps(base(text={"body": TEXT * 300})), "text.body: at most 4096"),
    ("text not str", json.dumps(base(text={"body": int(TO)})), "text.body: Input should be"),
    ("unknown key text", json.dumps(base(**{TEXT: 1})), "<key>: unknown field"),
    ("unknown key number", json.dumps(base(**{TO: LINK})), "<key>: unknown field"),
    (
        "link ftp",
        json.dumps(swap(base(), type="image", image={"link": "ftp://marker.example/secret-7731"})),
        "image.link: must be an absolute http",
    ),
    (
        "link js",
        json.dumps(swap(base(), type="image", image={"link": f"javascript:{TEXT}"})),
        "image.link: must be an absolute http",
    ),
    (
        "s3_key inbound media",
        json.dumps(swap(base(), type="image", image={"s3_key": f"media/{TO}/{TEXT}.jpg"})),
        "image.s3_key: must name an object under outbound/",
    ),
    (
        "s3_key traversal",
        json.dumps(swap(base(), type="image", image={"s3_key": "outbound/../media/secret-7731"})),
        "image.s3_key: must not contain empty, '.' or '..'",
    ),
    (
        "s3_key leading slash",
        json.dumps(swap(base(), type="document", document={"s3_key": "/outbound/secret-7731"})),
        "document.s3_key: must not start with '/'",
    ),
    (
        "s3_key spilled webhooks",
        json.dumps(swap(base(), type="image", image={"s3_key": "webhooks/secret-7731.json"})),
        "image.s3_key: must name an object under outbound/",
    ),
    (
        "birthday",
        json.dumps(
            swap(
                base(),
                type="contacts",
                contacts=[{"name": {"formatted_name": TEXT}, "birthday": BIRTHDAY}],
            )
        ),
        "contacts[0].birthday: must be a date in YYYY-MM-DD form",
    ),
    (
        "latitude text",
        json.dumps(swap(base(), type="location", location={"latitude": TEXT, "longitude": 1})),
        "location.latitude: must be a number",
    ),
    (
        "latitude range",
        json.dumps(swap(base(), type="location", location={"latitude": TO, "longitude": 1})),
        "location.latitude: must be between -90 and 90",
    ),
    (
        "template name",
        json.dumps(
            swap(base(), type="template", template={"name": TEXT, "language": {"code": "en"}})
        ),
        "template.name: must match",
    ),
    (
        "interactive type",
        json.dumps(swap(base(), type="interactive", interactive={"type": TEXT})),
        "interactive.type: unsupported value; expected one of",
    ),
    ("message type", json.dumps(swap(base(), type=TEXT)), "type: Input should be"),
    (
        "duplicate button ids",
        json.dumps(swap(base(), type="interactive", interactive=buttons(TEXT, TEXT))),
        "must be unique (Meta rule), a value repeats",
    ),
    (
        "idempotency key too long",
        json.dumps(base(idempotency_key=TEXT * 20)),
        "idempotency_key: at most 256 characters (wacloud limit)",
    ),
    (
        "idempotency key control char",
        json.dumps(base(idempotency_key=TEXT + "\x01")),
        "idempotency_key: String should match pattern",
    ),
    ("too many tags", json.dumps(base(tags=[TEXT] * 51)), "tags: at most 50 tags (wacloud"),
    ("tag too long", json.dumps(base(tags=[TEXT * 9])), "tags[0]: at most 128 characters"),
    ("campaign id too long", json.dumps(base(campaign_id=TEXT * 5)), "campaign_id: at most 64"),
    ("variant too long", json.dumps(base(variant=TEXT * 5)), "variant: at most 64"),
    (
        "context id too long",
        json.dumps(base(context={"message_id": TEXT * 20})),
        "context.message_id: at most 256",
    ),
    (
        "callback too long",
        json.dumps(base(biz_opaque_callback_data=TEXT * 40)),
        "biz_opaque_callback_data: at most 472",
    ),
    ("priority text", json.dumps(base(priority=TEXT)), "priority: Input should be"),
    ("naive send_at", json.dumps(base(send_at="2030-01-01T00:00:00")), "send_at: must include"),
    ("not json", f"{TEXT} {TO} {LINK}", "Expecting value"),
    ("json array", json.dumps([TO, TEXT]), "a submission must be a JSON object"),
    (
        "oversized",
        json.dumps(base(tags=[TEXT] * 10, text={"body": TEXT}, pad=TO * 13_000)),
        f"submission: at most {SUBMISSION_MAX_BYTES} bytes",
    ),
    ("lone surrogate", json.dumps(base(text={"body": TEXT + "\ud800"})), "lone surrogate"),
    ("deep nesting", '{"a":' * 5_000 + "1" + "}" * 5_000, "nested too deeply"),
]


@pytest.fixture
def sender_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    with mocked_state_table(monkeypatch, SEND_RECONCILE_GRACE_SECONDS="300", MAX_SEND_ATTEMPTS="3"):
        yield FakeGraph()
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()


def good(key: str) -> str:
    return json.dumps(
        {
            "phone_number_id": PNID,
            "to": "15551230000",
            "type": "text",
            "text": {"body": "ok"},
            "idempotency_key": key,
        }
    )


@pytest.mark.parametrize(
    ("body", "words"), [c[1:] for c in SENDER_CASES], ids=[c[0] for c in SENDER_CASES]
)
def test_invalid_submission_rejected_with_reason_and_no_pii(
    sender_env: FakeGraph,
    body: str,
    words: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    graph = sender_env
    sender = Sender(graph, waba_for=lambda pnid: None)  # type: ignore[arg-type]
    open_window("15551230000")
    before = sender.handle(good("before"))
    result = sender.handle(body)
    after = sender.handle(good("after"))

    assert result.outcome is Outcome.REJECTED
    assert words in result.detail["reason"], result.detail["reason"]
    assert (before.outcome, after.outcome) == (Outcome.SENT, Outcome.SENT)
    assert [p["text"]["body"] for p in graph.sent] == ["ok", "ok"]
    assert result.message_id is not None
    record = messages.load(PNID, result.message_id) or messages.load("unknown", result.message_id)
    assert record is not None and record["state"] == "rejected"
    assert record["error"]["reason"] == result.detail["reason"]
    assert record["history"][0]["state"] == "rejected"
    assert_clean(captured(capsys, caplog), json.dumps(record["error"]), json.dumps(result.detail))


def test_a_record_that_cannot_fit_is_rejected_not_retried(
    sender_env: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB's 400 KB item limit (moto enforces it on put_item, which a scheduled
    send uses): the submission is rejected once, with a reason, not retried."""
    sender = Sender(sender_env, waba_for=lambda pnid: None)  # type: ignore[arg-type]
    real = sender._record_fields
    monkeypatch.setattr(
        sender, "_record_fields", lambda s, b: {**real(s, b), "submission": "x" * 420_000}
    )
    result = sender.handle(good("huge")[:-1] + ', "send_at": "2099-01-01T00:00:00Z"}')
    assert result.outcome is Outcome.REJECTED
    assert "record too large" in result.detail["reason"]
    record = messages.load(PNID, result.message_id or "")
    assert record is not None and record["state"] == "rejected"
    assert "submission" not in record


def test_sender_refuses_to_read_outside_outbound_even_if_validation_was_bypassed(
    sender_env: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wacloud.outbound import media

    monkeypatch.setenv("MEDIA_BUCKET", BUCKET)
    config.settings.cache_clear()
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="media/abc", Body=b"x")
    for key in ("media/abc", "outbound/../media/abc", "/outbound/a", "outbound/"):
        with pytest.raises(media.MediaError, match="s3_key refused"):
            media.media_id_for(sender_env, PNID, key)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- inbound


def envelope(mutate: Callable[[dict[str, Any]], Any], wamid: str = "wamid.good") -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / "message_text.json").read_text())
    value = doc["entry"][0]["changes"][0]["value"]
    value["messages"][0]["id"] = wamid
    value["contacts"][0]["wa_id"] = TO
    value["messages"][0]["from"] = TO
    value["messages"][0]["text"]["body"] = f"{TEXT} {LINK} {BIRTHDAY}"
    mutate(doc)
    return doc


def _value(d: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = d["entry"][0]["changes"][0]["value"]
    return value


def _message(d: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = _value(d)["messages"][0]
    return message


def _set_message(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: _message(d).update(fields)


INBOUND_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("no id", lambda d: _message(d).pop("id"), "messages[0].id: Field required"),
    ("messages not list", lambda d: _value(d).update(messages=TEXT), "messages: Input should be"),
    ("text not object", _set_message(text=f"{TEXT} {TO}"), "messages[0].text: Input should be"),
    ("body object", _set_message(text={"body": {"x": TEXT}}), "text.body: Input should be"),
    ("from list", _set_message(**{"from": [TO]}), "messages[0].from: Input should be"),
    ("contacts str", lambda d: _value(d).update(contacts=TO), "contacts: Input should be"),
    ("metadata str", lambda d: _value(d).update(metadata=TO), "metadata: Input should be"),
    ("context str", _set_message(context=LINK), "messages[0].context: Input should be"),
    (
        "profile str",
        lambda d: _value(d)["contacts"][0].update(profile=TEXT),
        "contacts[0].profile: Input should be",
    ),
    ("errors str", lambda d: _value(d).update(errors=TEXT), "errors: Input should be"),
    (
        "image str",
        _set_message(type="image", image=f"{LINK} {TEXT}"),
        "messages[0].image: Input should be",
    ),
    (
        "location text",
        _set_message(type="location", location={"latitude": TEXT, "longitude": 1}),
        "location.latitude: Input should be",
    ),
    (
        "button reply str",
        _set_message(type="interactive", interactive={"type": "button_reply", "button_reply": TO}),
        "interactive.button_reply: Input should be",
    ),
    (
        "value str",
        lambda d: d["entry"][0]["changes"][0].update(value=f"{TEXT} {TO}"),
        "changes[0].value: Input should be",
    ),
    ("entry item str", lambda d: d.update(entry=[TO]), "entry[0]: Input should be"),
]


def add_gsi1() -> None:
    """The contact index inbound processing queries (mocked_state_table has none)."""
    boto3.client("dynamodb").update_table(
        TableName="state",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )


@pytest.fixture
def inbound_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_state_table(monkeypatch):
        add_gsi1()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()


def processor(submitted: list[dict[str, Any]]) -> InboundProcessor:
    return InboundProcessor(
        responder=EchoResponder(),
        submit=submitted.extend,
        media_store=lambda: boto3.client("s3"),
        media_bucket=BUCKET,
    )


@pytest.mark.parametrize(
    ("mutate", "words"), [c[1:] for c in INBOUND_CASES], ids=[c[0] for c in INBOUND_CASES]
)
def test_invalid_inbound_item_parked_with_reason_and_no_pii(
    inbound_env: None,
    mutate: Callable[[dict[str, Any]], Any],
    words: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    submitted: list[dict[str, Any]] = []
    inbound = processor(submitted)
    bad = envelope(mutate)
    effects = inbound.process(bad)
    valid = inbound.process(envelope(lambda d: None))

    assert [e.kind for e in effects] == ["invalid"]
    key = effects[0].notes[0]
    assert key.startswith(PARKED_INBOUND_PREFIX)
    parked = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert json.loads(parked) == bad  # kept whole for inspection
    assert [e.kind for e in valid] == ["message"] and valid[0].recorded
    assert len(submitted) == 1  # the valid message still got its reply
    logs = captured(capsys, caplog)
    assert words in logs
    assert_clean(logs, json.dumps([e.as_dict() for e in effects]))


def test_without_a_bucket_an_invalid_item_raises_a_scrubbed_error(inbound_env: None) -> None:
    inbound = InboundProcessor(responder=EchoResponder(), submit=lambda docs: None)
    with pytest.raises(ValueError) as info:
        inbound.process(envelope(lambda d: _message(d).update(text=f"{TEXT} {TO}")))
    assert "messages[0].text: Input should be" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert_clean(*exception_texts(info.value))


# ---------------------------------------------------------------------- Lambda handlers


def _rebind_closed_log_streams() -> None:
    """Powertools binds its handler to sys.stdout once per service logger; an earlier
    test's captured stdout is closed by now, so point such handlers at this test's."""
    loggers = [logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict)]
    for logger in [logging.getLogger(), *loggers]:
        for handler in logger.handlers:
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and getattr(stream, "closed", False):
                handler.stream = sys.stdout  # setStream would flush the closed one


def _load_app(name: str) -> types.ModuleType:
    _rebind_closed_log_streams()
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"_privacy_test_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class _Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"rh{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_state_table(
        monkeypatch,
        MEDIA_BUCKET=BUCKET,
        IDEMPOTENCY_TABLE_NAME="idempotency",
        POWERTOOLS_METRICS_NAMESPACE="wacloud",
        OUTBOUND_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/outbound",
        RESPONDER="echo",
        MARK_AS_READ="false",
    ):
        add_gsi1()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("sqs").create_queue(QueueName="outbound")
        boto3.client("dynamodb").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()


def test_sender_handler_rejects_bad_bodies_and_sends_the_good_one(
    handler_env: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = _load_app("sender")
    graph = FakeGraph()
    app.sender.graph = graph
    open_window("15551230000")
    bad = [c[1] for c in SENDER_CASES[:8]]
    response = app.lambda_handler(sqs_event([*bad, good("handler")]), _Context())
    assert response == {"batchItemFailures": []}
    assert [p["text"]["body"] for p in graph.sent] == ["ok"]
    assert_clean(captured(capsys, caplog))


def test_inbound_handler_parks_bad_items_and_records_the_good_one(
    handler_env: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = _load_app("inbound_processor")
    bad = [json.dumps(envelope(c[1], f"wamid.bad{i}")) for i, c in enumerate(INBOUND_CASES[:8])]
    response = app.lambda_handler(
        sqs_event([*bad, json.dumps(envelope(lambda d: None))]), _Context()
    )
    assert response == {"batchItemFailures": []}
    parked = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=PARKED_INBOUND_PREFIX)
    assert parked["KeyCount"] == len(bad)
    queued = boto3.client("sqs").receive_message(
        QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/outbound",
        MaxNumberOfMessages=10,
    )
    assert len(queued.get("Messages", [])) == 1  # the valid message's reply
    assert_clean(captured(capsys, caplog))


def test_inbound_handler_error_from_a_validation_failure_is_scrubbed(
    handler_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A ValidationError deeper in processing (here: a responder's) never escapes raw."""
    caplog.set_level(logging.INFO)
    app = _load_app("inbound_processor")

    def responder_fails(message: IncomingMessage) -> list[dict[str, Any]]:
        _Doc.model_validate({"to": message.text, "note": message.wa_id})
        return []

    monkeypatch.setattr(app._inbound().responder, "respond", responder_fails)
    with pytest.raises(BatchProcessingError) as info:  # the whole batch failed: retried
        app.lambda_handler(sqs_event([json.dumps(envelope(lambda d: None))]), _Context())
    assert "to: Input should be a valid integer" in str(info.value)
    assert_clean(*exception_texts(info.value))
    logs = captured(capsys, caplog)
    assert "to: Input should be a valid integer" in logs
    assert_clean(logs)


# ---------------------------------------------------------------------- replies fit


def test_echo_of_a_full_length_text_fits_metas_limit() -> None:
    from wacloud.models.outbound.submission import Submission

    incoming = IncomingMessage(PNID, TO, "wamid.x", "text", "é" * 4096, None, None)
    (reply,) = EchoResponder().respond(incoming)
    body = reply["text"]["body"]
    assert len(body) == 4096 and body.endswith("…") and body.startswith("You said: é")
    Submission.model_validate({"phone_number_id": PNID, "to": TO, **reply})
    short = EchoResponder().respond(IncomingMessage(PNID, TO, "w", "text", "hi", None, None))
    assert short[0]["text"]["body"] == "You said: hi"


def test_a_cut_never_leaves_a_dangling_joiner() -> None:
    from wacloud.inbound.responder import fit_text

    family = "\U0001f468\u200d\U0001f469"
    text = fit_text("a" * 4094 + family, 4096)
    assert len(text) <= 4096 and text.endswith("…") and "\u200d…" not in text


# ---------------------------------------------------------------------- history cap


def test_history_keeps_first_and_last_entries(sender_env: FakeGraph) -> None:
    messages.record_new(PNID, "mhist", messages.State.QUEUED, {"to": "1"})
    for i in range(60):
        claim = messages.claim(PNID, "mhist", {})
        assert claim.token is not None
        messages.mark_deferred(PNID, "mhist", claim.token, {"reason": f"r{i}"}, 0)
    item = messages.load(PNID, "mhist")
    assert item is not None
    history = item["history"]
    assert len(history) <= messages.HISTORY_TRIM_AT
    assert history[0]["state"] == "queued"
    assert history[-1]["detail"]["reason"] == "r59"
    assert int(item["history_dropped"]) + len(history) == 1 + 2 * 60
