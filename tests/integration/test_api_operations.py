"""Operations through the operator API on the local stack: queue depths, and a poisoned
outbound submission that lands in the DLQ, is peeked, and after its cause is fixed is
redriven and sent.

The poison is real: a large submission is queued as an S3 pointer (infra/queues.py);
while the pointed-to object is missing the sender cannot read it, fails the item, and
after the queue's 12 receives SQS moves it to OutboundDeadLetterQueue. Restoring the
object fixes the cause. A dedicated stack gives OutboundQueue a 1 s visibility timeout
so those 12 receives take seconds, not 12 x 180 s.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.waiting import wait_for
from tests.integration.api_client import Api
from tests.integration.test_outbound import open_window, sends_of

pytestmark = pytest.mark.integration


def test_queue_depths_are_listed(api: Any) -> None:
    listed = api("admin").get("/v1/ops/queues")
    assert listed.status_code == 200, listed.text
    by_name = {q["name"]: q for q in listed.json()["items"]}
    assert by_name["OutboundDeadLetterQueue"]["dead_letter_of"] == ["OutboundQueue"]
    assert by_name["OutboundQueue"]["dead_letter"] is False
    assert api("agent").get("/v1/ops/queues").status_code == 403
    assert api("admin").get("/v1/ops/dlqs/OutboundQueue/messages").error_code == "not_found"


def test_a_poisoned_submission_is_redriven_after_its_cause_is_fixed(
    make_stack: Any, customer: str
) -> None:
    stack = make_stack(queue_attributes={"OutboundQueue": {"VisibilityTimeout": "1"}})
    api = Api(stack)
    open_window(stack, customer)
    key = uuid.uuid4().hex
    document = {
        "phone_number_id": PNID,
        "to": customer,
        "type": "text",
        "text": {"body": "a large message, spilled to S3 by its producer"},
        "idempotency_key": key,
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    spilled = f"webhooks/{hashlib.sha256(body).hexdigest()}.json"
    bucket = stack.outputs["MediaBucketName"]
    sqs, s3 = stack.client("sqs"), stack.client("s3")
    pointer = json.dumps({"s3_pointer": {"bucket": bucket, "key": spilled}})
    sqs.send_message(QueueUrl=stack.outputs["OutboundQueueUrl"], MessageBody=pointer)

    def in_dlq() -> list[dict[str, Any]] | None:
        items = api("admin").get("/v1/ops/dlqs/OutboundDeadLetterQueue/messages").json()["items"]
        return items or None

    [peeked] = wait_for("the poisoned item in the DLQ", in_dlq, timeout=120)
    assert peeked["body"] == pointer and peeked["receive_count"] >= 1
    assert len(in_dlq() or []) == 1  # peeking left it there

    s3.put_object(Bucket=bucket, Key=spilled, Body=body)  # the cause fixed
    started = api("admin").post("/v1/ops/dlqs/OutboundDeadLetterQueue/redrive")
    assert started.status_code == 202, started.text
    latest = api("admin").get("/v1/ops/dlqs/OutboundDeadLetterQueue/redrive").json()
    assert latest["status"] == "COMPLETED" and latest["moved"] == 1

    from wacloud.store import messages

    message_id = messages.message_id_for(PNID, key)
    shown = wait_for(
        "the redriven message sent",
        lambda: (
            api("agent").get(f"/v1/numbers/{PNID}/messages/{message_id}").json()
            if sends_of(stack, message_id)
            else None
        ),
        timeout=60,
    )
    assert shown["status"] in ("sent", "delivered", "read")
    assert len(sends_of(stack, message_id)) == 1
    assert in_dlq() is None
