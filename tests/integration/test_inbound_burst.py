"""A burst of 2,000 signed webhooks, 10% of them duplicates: every item recorded once.

The stack answers nobody (RESPONDER=none, no read receipts) so the test measures
the inbound path alone: gateway -> WebhookReceive -> SQS -> InboundProcessor -> DynamoDB.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.stack import LocalStack

# Minutes on a 2-core machine (moto is pure Python): run with `make test-burst`.
pytestmark = [pytest.mark.integration, pytest.mark.slow]

PAYLOADS = Path(__file__).parent.parent / "payloads"
POSTS = 2000
DUPLICATE_SHARE = 0.10
# Both cores are shared by the pollers, moto, the gateway and the functions; past
# three concurrent environments per function the extra processes only contend.
MAX_CONCURRENCY = 3


def _template(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def _bodies(tag: str, unique: int) -> tuple[list[bytes], set[str], set[tuple[str, str]]]:
    """``unique`` distinct webhooks: two thirds text messages, one third statuses."""
    message_doc = _template("message_text.json")
    status_doc = _template("status_delivered.json")
    bodies: list[bytes] = []
    wamids: set[str] = set()
    statuses: set[tuple[str, str]] = set()
    for n in range(unique):
        if n % 3:
            doc = json.loads(json.dumps(message_doc))
            value = doc["entry"][0]["changes"][0]["value"]
            customer = f"1777{n:07d}"
            value["contacts"][0]["wa_id"] = customer
            message = value["messages"][0]
            message.update({"from": customer, "id": f"wamid.{tag}.in.{n}"})
            wamids.add(message["id"])
        else:
            doc = json.loads(json.dumps(status_doc))
            status = doc["entry"][0]["changes"][0]["value"]["statuses"][0]
            status["id"] = f"wamid.{tag}.out.{n}"
            statuses.add((status["id"], status["status"]))
        bodies.append(json.dumps(doc, separators=(",", ":")).encode())
    return bodies, wamids, statuses


def _count(stack: LocalStack, tag: str) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Inbound and status records of this burst, counted by scanning the table."""
    ddb = stack.client("dynamodb")
    table = stack.outputs["StateTableName"]
    inbound: dict[str, int] = {}
    statuses: dict[tuple[str, str], int] = {}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "contains(pk, :tag)",
        "ExpressionAttributeValues": {":tag": {"S": f"wamid.{tag}."}},
        "ProjectionExpression": "pk, sk",
    }
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            pk, sk = item["pk"]["S"], item["sk"]["S"]
            _, kind, wamid = pk.split("#", 2)
            if kind == "IN":
                inbound[wamid] = inbound.get(wamid, 0) + 1
            elif kind == "ST":
                statuses[(wamid, sk)] = statuses.get((wamid, sk), 0) + 1
        if "LastEvaluatedKey" not in page:
            return inbound, statuses
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_burst_with_duplicates_is_recorded_exactly_once(
    make_stack: Callable[..., LocalStack],
) -> None:
    from wacloud.inbound.signature import sign

    stack = make_stack(
        stack_name=f"wacloud-burst-{uuid.uuid4().hex[:6]}",
        max_concurrency=MAX_CONCURRENCY,
        environment={
            "*": {"SEND_RECONCILE_GRACE_SECONDS": "3"},
            "InboundProcessorFunction": {"RESPONDER": "none", "MARK_AS_READ": "false"},
        },
    )
    tag = uuid.uuid4().hex[:10]
    duplicates = int(POSTS * DUPLICATE_SHARE)
    bodies, wamids, statuses = _bodies(tag, POSTS - duplicates)
    rng = random.Random(7)
    posts = bodies + rng.sample(bodies, duplicates)
    rng.shuffle(posts)
    secret = stack.config.app_secret.encode()
    client = httpx.Client(
        timeout=60, limits=httpx.Limits(max_connections=16, max_keepalive_connections=16)
    )

    def post(body: bytes) -> int:
        """POST like Meta: a non-200 answer is retried (Meta keeps trying for days)."""
        headers = {"content-type": "application/json", "x-hub-signature-256": sign(body, secret)}
        for attempt in range(5):
            response = client.post(stack.webhook_url, content=body, headers=headers)
            if response.status_code == 200:
                return attempt
            time.sleep(0.2 * 2**attempt)
        return -1

    # Cold starts on a loaded machine take seconds; warm the receive path first.
    post(bodies[0])
    started = time.monotonic()
    # The pollers, moto, the gateway and this client share this process's GIL; more
    # client threads than that only queue behind it.
    with ThreadPoolExecutor(max_workers=4) as pool:
        retries = list(pool.map(post, posts))
    posted_in = time.monotonic() - started
    client.close()
    print(f"\nburst: {POSTS} posts in {posted_in:.1f}s", flush=True)
    assert -1 not in retries, "a webhook was never accepted"

    # Wait for the inbound queue to drain (cheap SQS calls), then count once: a table
    # scan in moto holds its DynamoDB lock and would stall the stack it measures.
    sqs = stack.client("sqs")
    deadline = time.monotonic() + 420
    idle_polls = 0
    while idle_polls < 2:
        attrs = sqs.get_queue_attributes(
            QueueUrl=stack.outputs["InboundQueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        idle_polls = idle_polls + 1 if not any(int(v) for v in attrs.values()) else 0
        assert time.monotonic() < deadline, f"inbound queue still holds {attrs}"
        time.sleep(2)
    inbound, recorded = _count(stack, tag)
    processed_in = time.monotonic() - started
    assert set(inbound) == wamids and set(inbound.values()) == {1}
    assert set(recorded) == statuses and set(recorded.values()) == {1}
    # Nothing failed on the way (nothing waits in the dead-letter queue).
    attrs = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["InboundDeadLetterQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert not any(int(v) for v in attrs.values()), attrs
    print(
        f"\nburst: {POSTS} posts in {posted_in:.1f}s ({sum(retries)} retried), "
        f"all recorded {processed_in:.1f}s after the first"
    )
