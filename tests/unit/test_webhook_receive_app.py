"""WebhookReceive's Lambda handler on moto (SQS, S3, Secrets Manager): what Meta gets
back, what is queued or parked, and what is logged and counted -- never a marker
value (a customer number, message text, a secret)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from tests.unit.function_apps import load_app
from wacloud.inbound.signature import sign
from wacloud.infra import aws, config, queues

# Part of the bad-input suite (README, "Security"): `pytest -m bad_input`.
pytestmark = pytest.mark.bad_input

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT / "tests" / "payloads"
BUCKET = "media-bucket"
DEFAULT_SECRET = "default-secret-MARKER-SECRET-1"
SECRET_A = "tenant-a-secret-MARKER-SECRET-2"
SECRET_B = "tenant-b-secret-MARKER-SECRET-3"
PNID_A, WABA_A = "100000000000011", "200000000000011"
PNID_B, WABA_B = "100000000000022", "200000000000022"
CUSTOMER = "15550009999"  # marker: a customer's number
TEXT = "MARKER-TEXT-7731"  # marker: message text
MARKERS = (CUSTOMER, TEXT, "MARKER-SECRET", PNID_A, WABA_A)


@dataclass
class Stack:
    app: ModuleType
    log: io.StringIO
    queue_url: str

    def post(self, body: bytes | str, secret: str | None, **event: Any) -> dict[str, Any]:
        raw = body.encode() if isinstance(body, str) else body
        headers = {"content-type": "application/json"}
        if secret is not None:
            headers["x-hub-signature-256"] = sign(raw, secret.encode())
        request = {
            "body": base64.b64encode(raw).decode(),
            "isBase64Encoded": True,
            "headers": headers,
            **event,
        }
        response: dict[str, Any] = self.app.handle(request)
        return response

    def queued(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300
            ).get("Messages", [])
            if not batch:
                return found
            found.extend(json.loads(queues.resolve_body(m["Body"])) for m in batch)

    def parked(self) -> dict[str, bytes]:
        s3 = boto3.client("s3")
        listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=queues.PARK_PREFIX)
        return {
            o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            for o in listing.get("Contents", [])
        }

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.log.getvalue().splitlines() if x.startswith("{")]

    def metric(self, name: str) -> float:
        found = self.app.metrics.metric_set.get(name)
        return sum(found["Value"]) if found else 0.0

    def assert_no_markers(self, *extra: str) -> None:
        text = self.log.getvalue()
        for marker in (*MARKERS, *extra):
            assert marker not in text, marker


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for name, value in {
        "META_SECRET_ID": "meta",
        "TABLE_NAME": "state",
        "MEDIA_BUCKET": BUCKET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "webhook-receive",
        "POWERTOOLS_METRICS_NAMESPACE": "wacloud",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        queue_url = boto3.client("sqs").create_queue(QueueName="inbound")["QueueUrl"]
        monkeypatch.setenv("INBOUND_QUEUE_URL", queue_url)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("secretsmanager").create_secret(
            Name="meta",
            SecretString=json.dumps(
                {
                    "app_secret": DEFAULT_SECRET,
                    "verify_token": "v",
                    "access_token": "t",
                    "tenants": {
                        PNID_A: {"app_secret": SECRET_A, "waba_id": WABA_A},
                        PNID_B: {"app_secret": SECRET_B, "waba_id": WABA_B},
                    },
                }
            ),
        )
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()
        parameters.clear_caches()
        app = load_app("webhook_receive")
        log = io.StringIO()
        app.logger.registered_handler.stream = log  # setStream would flush a closed one
        app.metrics.clear_metrics()
        yield Stack(app, log, queue_url)
        app.metrics.clear_metrics()
        parameters.clear_caches()
        config.settings.cache_clear()


def message(pnid: str, waba: str, wamid: str, count: int = 1) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / "message_text.json").read_text())
    doc["entry"][0]["id"] = waba
    value = doc["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = pnid
    value["contacts"][0]["wa_id"] = CUSTOMER
    first = value["messages"][0]
    first.update({"from": CUSTOMER, "text": {"body": TEXT}})
    value["messages"] = [{**first, "id": f"{wamid}.{i}"} for i in range(count)]
    return doc


def compact(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


# ------------------------------------------------------------------ tenant binding
def test_cross_tenant_forgery_is_refused_logged_and_counted(stack: Stack) -> None:
    forged = message(PNID_A, WABA_A, "wamid.FORGED", count=2)
    own = message(PNID_B, WABA_B, "wamid.OWN")
    body = compact({"object": "whatsapp_business_account", "entry": forged["entry"] + own["entry"]})
    response = stack.post(body, SECRET_B)
    assert response["statusCode"] == 200  # a retry would be refused the same way
    queued = stack.queued()
    assert [q["entry"][0]["changes"][0]["value"]["messages"][0]["id"] for q in queued] == [
        "wamid.OWN.0"
    ]
    assert stack.metric("WebhookItemsRefusedTenant") == 2
    assert stack.metric("WebhookItemsQueued") == 1
    (line,) = [x for x in stack.lines() if x["message"].startswith("webhook items refused")]
    assert (line["refused_items"], line["queued_items"]) == (2, 1)
    assert line["refusals"][0]["bound_by"] == "phone_number_id"
    assert line["refusals"][0]["phone_number_id"] == "10***********11"
    stack.assert_no_markers()


def test_a_forged_single_item_queues_nothing(stack: Stack) -> None:
    response = stack.post(compact(message(PNID_A, WABA_A, "wamid.F")), SECRET_B)
    assert response["statusCode"] == 200
    assert stack.queued() == []
    assert stack.metric("WebhookItemsRefusedTenant") == 1
    stack.assert_no_markers()


def test_each_tenant_is_accepted_under_its_own_secret(stack: Stack) -> None:
    for pnid, waba, secret in ((PNID_A, WABA_A, SECRET_A), (PNID_B, WABA_B, SECRET_B)):
        assert (
            stack.post(compact(message(pnid, waba, f"wamid.{pnid}")), secret)["statusCode"] == 200
        )
    assert len(stack.queued()) == 2
    assert stack.metric("WebhookItemsRefusedTenant") == 0


# ------------------------------------------------------------------ parked bodies
UNREADABLE = {
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "invalid utf-8": b'{"entry":[{"id":"' + TEXT.encode() + b'\xff"}]}',
    "not json": b"{" + TEXT.encode() + b" " + CUSTOMER.encode(),
    "duplicate keys": compact(message(PNID_B, WABA_B, "wamid.D")).replace(
        b'"entry":', b'"entry":[],"entry":', 1
    ),
    "no entry": b'{"object":"' + TEXT.encode() + b'"}',
}


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_unreadable_signed_bodies_are_stored_exactly_once(stack: Stack, name: str) -> None:
    body = UNREADABLE[name]
    for _ in range(2):  # a second delivery of the same bytes stores nothing new
        response = stack.post(body, DEFAULT_SECRET)
        assert (response["statusCode"], response["body"]) == (200, "EVENT_RECEIVED")
    key = f"{queues.PARK_PREFIX}{hashlib.sha256(body).hexdigest()}.json"
    assert stack.parked() == {key: body}
    assert stack.queued() == []
    assert stack.metric("WebhookParked") == 2
    lines = [x for x in stack.lines() if x["message"] == "signed webhook parked unread"]
    assert len(lines) == 2 and lines[0]["s3_key"] == key and lines[0]["bytes"] == len(body)
    stack.assert_no_markers()


def test_an_unsigned_unreadable_body_is_refused_not_parked(stack: Stack) -> None:
    assert stack.post(UNREADABLE["not json"], None)["statusCode"] == 401
    assert stack.post(UNREADABLE["not json"], "wrong-secret")["statusCode"] == 403
    assert stack.parked() == {}


def test_parking_needs_the_bucket_or_meta_retries(stack: Stack) -> None:
    boto3.client("s3").delete_bucket(Bucket=BUCKET)
    response = stack.post(UNREADABLE["deep"], DEFAULT_SECRET)
    assert response["statusCode"] == 500
    assert stack.metric("WebhookQueueFailed") == 1
    stack.assert_no_markers()


# ------------------------------------------------------------------ before the try
@pytest.mark.parametrize(
    "event",
    [
        {"body": "!!!" + TEXT, "isBase64Encoded": True},
        {"body": "YWJj=" + "\u00e9", "isBase64Encoded": True},
        {"body": '{"entry":[]}\ud800' + TEXT, "isBase64Encoded": False},
        {"body": ["not", "text"], "isBase64Encoded": False},
        {"body": "{}", "headers": ["x-hub-signature-256", TEXT]},
        {"body": "{}", "headers": {"x-hub-signature-256": [TEXT]}},
    ],
    ids=[
        "bad base64",
        "non-ascii base64",
        "lone surrogate",
        "body not text",
        "headers not a map",
        "signature not text",
    ],
)
def test_unreadable_requests_answer_400_with_a_log_line_and_metric(
    stack: Stack, event: dict[str, Any]
) -> None:
    request = {"headers": {"x-hub-signature-256": "sha256=" + "0" * 64}, **event}
    response = stack.app.handle(request)
    assert response["statusCode"] == 400
    assert stack.metric("WebhookRefused400") == 1
    (line,) = [x for x in stack.lines() if x["message"] == "webhook request unreadable"]
    assert line["status"] == 400 and line["reason"]
    assert stack.queued() == [] and stack.parked() == {}
    stack.assert_no_markers()
    assert TEXT not in response["body"]


# ------------------------------------------------------------------ 1,000 items
class _Recording:
    """An SQS client that keeps what SendMessageBatch was given (1,000 messages in
    moto's queue take minutes to receive back). The first two calls wait for each
    other, which only calls in flight together can do; ``fail_ids`` entries are
    answered as failed ``fail_times`` times."""

    def __init__(self, fail_ids: set[str] | None = None, fail_times: int = 0) -> None:
        self._meet = threading.Barrier(2, timeout=60)
        self._lock = threading.Lock()
        self.calls = 0
        self.bodies: list[str] = []
        self.fail_ids = fail_ids or set()
        self.fail_times = fail_times
        self.failed: dict[str, int] = {}

    def send_message_batch(self, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
            first_two = self.calls <= 2
        if first_two:
            self._meet.wait()
        assert kwargs["QueueUrl"] and 1 <= len(kwargs["Entries"]) <= 10
        response: dict[str, Any] = {"Successful": [], "Failed": []}
        with self._lock:
            for entry in kwargs["Entries"]:
                times = self.failed.get(entry["Id"], 0)
                if entry["Id"] in self.fail_ids and times < self.fail_times:
                    self.failed[entry["Id"]] = times + 1
                    response["Failed"].append(
                        {"Id": entry["Id"], "Code": "InternalError", "SenderFault": False}
                    )
                else:
                    self.bodies.append(entry["MessageBody"])
                    response["Successful"].append({"Id": entry["Id"], "MessageId": entry["Id"]})
        return response

    def wamids(self) -> list[str]:
        return sorted(
            json.loads(b)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
            for b in self.bodies
        )


def thousand_items() -> bytes:
    return compact(message(PNID_B, WABA_B, "wamid.K", count=1000))


def test_a_thousand_items_are_sent_concurrently_and_queued_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = _Recording()
    monkeypatch.setattr(queues, "sqs", lambda: recording)
    response = stack.post(thousand_items(), SECRET_B)
    assert response["statusCode"] == 200
    assert recording.calls == 100
    assert recording.wamids() == sorted(f"wamid.K.{i}" for i in range(1000))


def test_a_partial_failure_is_retried_once(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    recording = _Recording(fail_ids={"5", "505", "999"}, fail_times=1)
    monkeypatch.setattr(queues, "sqs", lambda: recording)
    assert stack.post(thousand_items(), SECRET_B)["statusCode"] == 200
    assert recording.calls == 103
    assert recording.wamids() == sorted(f"wamid.K.{i}" for i in range(1000))


def test_any_item_not_queued_answers_500_after_every_call(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = _Recording(fail_ids={"505"}, fail_times=2)
    monkeypatch.setattr(queues, "sqs", lambda: recording)
    response = stack.post(thousand_items(), SECRET_B)
    assert response["statusCode"] == 500  # Meta retries; duplicates are absorbed downstream
    assert recording.calls == 101  # every batch was sent; only item 505 failed twice
    assert len(recording.wamids()) == 999 and "wamid.K.505" not in recording.wamids()
    assert stack.metric("WebhookQueueFailed") == 1
    stack.assert_no_markers()
