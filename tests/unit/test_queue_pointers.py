"""Queued ``s3_pointer`` bodies: followed only to what this stack spilled.

A pointer names our media bucket and ``webhooks/<sha256>.json``, and the object's
bytes must hash to that digest. Anything else -- another bucket, customers' media,
a parked webhook, a traversal, a changed object -- is refused before (or instead of)
being returned, and the inbound processor leaves such an item to its DLQ.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from moto import mock_aws

from tests.unit.function_apps import load_app
from wacloud.infra import aws, config, queues
from wacloud.infra.queues import ForgedPointerError, resolve_body, send_bodies, spill_key

# Part of the bad-input suite (README, "Security"): `pytest -m bad_input`.
pytestmark = pytest.mark.bad_input

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "media-bucket"
MARKER = "MARKER-TEXT-7731"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "TABLE_NAME": "state",
        "META_SECRET_ID": "meta",
        "MEDIA_BUCKET": BUCKET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client
        config.settings.cache_clear()


def pointer(bucket: str, key: str) -> str:
    return json.dumps({"s3_pointer": {"bucket": bucket, "key": key}})


def spill(s3: Any, body: bytes) -> str:
    key = spill_key(body)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return key


def test_a_spilled_body_round_trips(s3: Any) -> None:
    queue = boto3.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    big = json.dumps({"entry": [], "text": MARKER * 10_000})
    send_bodies(queue, [big, "small"], bucket=BUCKET)
    bodies: list[str] = []
    while len(bodies) < 2:
        received = boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        bodies += [m["Body"] for m in received.get("Messages", [])]
    spilled, small = sorted(bodies, key=lambda b: b == "small")
    assert spilled.startswith('{"s3_pointer"') and small == "small"
    assert resolve_body(spilled) == big
    assert resolve_body("small") == "small"


def test_an_inline_body_is_returned_as_is(s3: Any) -> None:
    assert resolve_body('{"entry":[]}') == '{"entry":[]}'


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda key: pointer("other-bucket", key), "bucket"),
        (lambda key: pointer(BUCKET, "media/" + key.split("/")[1]), "spill prefix"),
        (lambda key: pointer(BUCKET, "webhooks/unparsed/" + key.split("/")[1]), "spill prefix"),
        (lambda key: pointer(BUCKET, "webhooks/../media/x.json"), "spill prefix"),
        (lambda key: pointer(BUCKET, key.upper().replace("WEBHOOKS", "webhooks")), "prefix"),
        (lambda key: pointer(BUCKET, key + "\n"), "spill prefix"),
        (lambda key: json.dumps({"s3_pointer": {"bucket": BUCKET, "key": key}, "x": 1}), "{"),
        (lambda key: json.dumps({"s3_pointer": [BUCKET, key]}), "{"),
        (lambda key: json.dumps({"s3_pointer": {"bucket": BUCKET, "key": 5}}), "{"),
        (lambda key: '{"s3_pointer": ' + MARKER, "not JSON"),
    ],
    ids=[
        "other bucket",
        "customers' media",
        "a parked webhook",
        "traversal",
        "upper-case digest",
        "trailing newline",
        "extra keys",
        "not an object",
        "key not text",
        "not json",
    ],
)
def test_a_forged_pointer_is_refused(s3: Any, make: Any, reason: str) -> None:
    body = b'{"entry":[]}'
    key = spill(s3, body)
    s3.create_bucket(Bucket="other-bucket")
    digest = key.split("/")[1]
    for target in ("other-bucket", BUCKET):
        for other in (key, "media/" + digest, "webhooks/unparsed/" + digest):
            s3.put_object(Bucket=target, Key=other, Body=body)
    with pytest.raises(ForgedPointerError) as refused:
        resolve_body(make(key))
    assert reason in str(refused.value)
    assert MARKER not in str(refused.value) and digest not in str(refused.value)


def test_an_object_that_does_not_match_its_digest_is_refused(s3: Any) -> None:
    """Someone who can write our spill prefix but not forge a hash gets nothing read."""
    key = spill_key(b'{"entry":[]}')
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"entry":[{"id":"evil"}]}')
    with pytest.raises(ForgedPointerError, match="digest"):
        resolve_body(pointer(BUCKET, key))


def test_no_configured_bucket_follows_nothing(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key = spill(s3, b"{}")
    monkeypatch.delenv("MEDIA_BUCKET")
    config.settings.cache_clear()
    with pytest.raises(ForgedPointerError, match="bucket"):
        resolve_body(pointer(BUCKET, key))


# ------------------------------------------------------------------ inbound call site


def sqs_record(body: str) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-1",
            "receiptHandle": "r",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inbound",
            "awsRegion": "us-east-1",
        }
    )


def test_the_inbound_processor_refuses_a_forged_pointer(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The item fails (so SQS redelivers it and the DLQ keeps it), with its own log
    line and metric; the object it names is never read into processing."""
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", "idempotency")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wacloud")
    config.settings.cache_clear()
    s3.put_object(Bucket=BUCKET, Key="media/" + "a" * 64, Body=MARKER.encode())
    app = load_app("inbound_processor")
    log = io.StringIO()
    app.logger.registered_handler.stream = log  # setStream would flush a closed one
    app.metrics.clear_metrics()
    reads: list[str] = []
    real_get = aws.s3().get_object
    monkeypatch.setattr(
        aws.s3(), "get_object", lambda **kw: reads.append(kw["Key"]) or real_get(**kw)
    )
    with pytest.raises(ForgedPointerError):
        app.record_handler(sqs_record(pointer(BUCKET, "media/" + "a" * 64)))
    assert reads == []
    lines = [json.loads(x) for x in log.getvalue().splitlines() if x.startswith("{")]
    assert [x["message"] for x in lines] == ["queued s3_pointer refused", "inbound item failed"]
    assert "spill prefix" in lines[0]["reason"]
    assert app.metrics.metric_set["InboundPointerRefused"]["Value"] == [1.0]
    assert MARKER not in log.getvalue()
    app.metrics.clear_metrics()


def test_digest_in_key_is_the_bodys_sha256() -> None:
    body = b'{"entry":[]}'
    assert spill_key(body) == f"webhooks/{hashlib.sha256(body).hexdigest()}.json"
    assert not spill_key(body).startswith(queues.PARK_PREFIX)
