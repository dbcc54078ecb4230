"""WebhookReceive on the local stack: refusals with a log line, S3 spill, and 500s
that make Meta retry instead of losing a body."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from local.waiting import wait_for

pytestmark = pytest.mark.integration

PAYLOADS = Path(__file__).parent.parent / "payloads"


def signed_post(stack: LocalStack, body: bytes, signature: str | None = "sign") -> httpx.Response:
    from wacloud.inbound.signature import sign

    headers = {"content-type": "application/json"}
    if signature == "sign":
        signature = sign(body, stack.config.app_secret.encode())
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    return httpx.post(stack.webhook_url, content=body, headers=headers, timeout=60)


def text_webhook(customer: str, body: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / "message_text.json").read_text())
    value = doc["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = customer
    message = value["messages"][0]
    message.update(
        {"from": customer, "id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time()))}
    )
    message["text"]["body"] = body
    return doc


def inbound(customer: str, wamid: str) -> dict[str, Any] | None:
    from wacloud.store import inbound_log as events

    return next((i for i in events.conversation(PNID, customer) if i.get("wamid") == wamid), None)


def log_lines(stack: LocalStack, message: str) -> list[dict[str, Any]]:
    log = (stack.config.log_dir or Path()) / "WebhookReceiveFunction.log"
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    return [x for x in lines if x.get("message") == message]


def refusals(stack: LocalStack) -> list[dict[str, Any]]:
    return log_lines(stack, "webhook refused")


# ------------------------------------------------------------------ refusals
def test_refusals_answer_the_right_status_with_a_log_line(stack: LocalStack) -> None:
    good = json.dumps(text_webhook("15550000000", "x")).encode()
    marker = uuid.uuid4().hex
    cases = [
        ("oversized", b'{"entry":[]}' + b" " * (3 * 1024 * 1024), "sign", 413),
        ("unsigned", good, None, 401),
        ("malformed", good, "sha1=abc", 403),
        ("mismatch", good, "sha256=" + "0" * 64, 403),
    ]
    for name, body, signature, status in cases:
        response = signed_post(stack, body, signature)
        assert response.status_code == status, (name, response.text)
    wanted = sorted(status for *_, status in cases)
    found = wait_for(
        "a log line per refusal",
        lambda: (
            (
                sorted(x["status"] for x in refusals(stack)[-len(cases) :])
                if len(refusals(stack)) >= len(cases)
                else None
            )
            == wanted
        ),
        timeout=20,
    )
    assert found
    reasons = {x["reason"] for x in refusals(stack)}
    assert any("3 MB" in r for r in reasons) and any("signature" in r for r in reasons)
    assert marker not in json.dumps(refusals(stack))


# ------------------------------------------------------------------ parked
def test_signed_unreadable_bodies_are_parked_once_and_answered_200(stack: LocalStack) -> None:
    """Not JSON, no entry list, too deep: a retry would fail the same way for a week,
    so the body is kept in the media bucket and Meta gets 200."""
    import hashlib

    s3 = stack.client("s3")
    bucket = stack.outputs["MediaBucketName"]
    # moto enforces the TLS-only bucket policy over plain HTTP (reported to the lead).
    s3.delete_bucket_policy(Bucket=bucket)
    marker = uuid.uuid4().hex
    bodies = [
        b'{"entry": [oops ' + marker.encode(),
        b'{"object":"' + marker.encode() + b'"}',
        b"[" * 100_000 + b"]" * 100_000,
    ]
    for body in bodies:
        for _ in range(2):
            response = signed_post(stack, body)
            assert (response.status_code, response.text) == (200, "EVENT_RECEIVED")
    for body in bodies:
        key = f"webhooks/unparsed/{hashlib.sha256(body).hexdigest()}.json"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    parked = wait_for(
        "a log line per parked POST",
        lambda: (
            lines if len(lines := log_lines(stack, "signed webhook parked unread")) >= 6 else None
        ),
        timeout=20,
    )
    assert marker not in json.dumps(parked)


# ------------------------------------------------------------------ spill to S3
def test_items_over_64_kb_travel_through_s3(stack: LocalStack, customer: str) -> None:
    s3 = stack.client("s3")
    bucket = stack.outputs["MediaBucketName"]
    # moto enforces the TLS-only bucket policy over plain HTTP (reported to the lead).
    s3.delete_bucket_policy(Bucket=bucket)
    big = "x" * (70 * 1024)
    single = text_webhook(customer, big)
    batched = text_webhook(customer, big + "y")
    second = text_webhook(customer, big + "z")["entry"][0]["changes"][0]["value"]["messages"][0]
    batched["entry"][0]["changes"][0]["value"]["messages"].append(second)
    for doc in (single, batched):
        assert signed_post(stack, json.dumps(doc).encode()).status_code == 200
    wamids = [
        m["id"] for d in (single, batched) for m in d["entry"][0]["changes"][0]["value"]["messages"]
    ]
    for wamid in wamids:
        record = wait_for(f"{wamid} recorded", lambda w=wamid: inbound(customer, w))
        assert record["content"]["text"]["body"].startswith(big)
    spilled = s3.list_objects_v2(Bucket=bucket, Prefix="webhooks/").get("KeyCount", 0)
    assert spilled >= 3


# ------------------------------------------------------------------ queue failure
_calls = {"n": 0}


def fail_first_enqueues() -> None:
    """Preload hook for WebhookReceive: SQS rejects every entry of the first two
    SendMessageBatch calls in this execution environment (queues.py retries once)."""
    from wacloud.infra import aws

    real = aws.sqs

    class Flaky:
        def __init__(self, client: Any) -> None:
            self._client = client

        def send_message_batch(self, **kwargs: Any) -> Any:
            _calls["n"] += 1
            if _calls["n"] <= 2:
                return {
                    "Failed": [
                        {"Id": e["Id"], "Code": "InternalError", "SenderFault": False}
                        for e in kwargs["Entries"]
                    ]
                }
            return self._client.send_message_batch(**kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

    flaky: list[Any] = []

    def sqs() -> Any:
        if not flaky:
            flaky.append(Flaky(real()))
        return flaky[0]

    aws.sqs = sqs  # type: ignore[assignment]


def test_queue_failure_answers_500_and_the_retry_is_processed_once(
    make_stack: Callable[..., LocalStack],
) -> None:
    from wacloud.store import inbound_log as events

    stack = make_stack(
        stack_name=f"wacloud-flaky-{uuid.uuid4().hex[:6]}",
        max_concurrency=1,
        preload={
            "WebhookReceiveFunction": (
                "tests.integration.test_webhook_receive:fail_first_enqueues",
            )
        },
    )
    customer = "15557770001"
    body = json.dumps(text_webhook(customer, "hello")).encode()
    wamid = json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    statuses = []
    for _ in range(5):  # Meta retries the same bytes until it gets a 200
        statuses.append(signed_post(stack, body).status_code)
        if statuses[-1] == 200:
            break
    assert statuses[0] == 500 and statuses[-1] == 200, statuses
    assert signed_post(stack, body).status_code == 200  # a late duplicate retry
    wait_for("recorded", lambda: inbound(customer, wamid))
    assert stack.emulator is not None
    wait_for("replied", lambda: stack.emulator and stack.emulator.sent_messages(to=customer))
    time.sleep(1.0)  # room for a wrong second record or reply to appear
    assert [i["wamid"] for i in events.conversation(PNID, customer) if i["direction"] == "in"] == [
        wamid
    ]
    assert len(stack.emulator.sent_messages(to=customer)) == 1
