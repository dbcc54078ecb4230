"""Erasing a customer through the deployed entry point (the QueueProcessor's
`erase_customer` control) on the local stack: after a conversation both ways with
media, consent and statuses, a full table scan finds nothing naming the number and
their media object is gone; a second erasure deletes nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from local.waiting import wait_for
from tests.integration.test_inbound import allow_plain_http_to_media_bucket, settle, warm_up

pytestmark = pytest.mark.integration


def scan_naming(stack: LocalStack, number: str) -> list[dict[str, Any]]:
    """Every state-table item whose keys or attributes mention the number."""
    client = stack.client("dynamodb")
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": stack.outputs["StateTableName"]}
    while True:
        page = client.scan(**kwargs)
        found.extend(i for i in page["Items"] if number in json.dumps(i))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_erase_customer_leaves_nothing_of_them(stack: LocalStack, customer: str) -> None:
    from wacloud.infra.dynamo import query
    from wacloud.store import inbound_log as events

    assert stack.emulator is not None
    emulator = stack.emulator
    allow_plain_http_to_media_bucket(stack)
    warm_up(stack)
    photo = b"\xff\xd8\xff\xe0" + customer.encode() * 64  # content only this customer sent
    emulator.customer_text(customer, "hi")
    image = emulator.customer_sends(
        customer, {"type": "image", "image": {"data": photo, "mime_type": "image/jpeg"}}
    )
    emulator.customer_text(customer, "STOP")
    emulator.user_preferences(customer, "resume")

    def conversation() -> list[dict[str, Any]]:
        return events.conversation(PNID, customer)

    wait_for(
        "three messages in, the media cached, replies read",
        lambda: (
            len([i for i in conversation() if i.get("direction") == "in"]) == 3
            and any(i.get("wamid") == image and i.get("media") for i in conversation())
            and (out := [i for i in conversation() if i.get("direction") == "out"])
            and all(i.get("state") == "read" for i in out)
        ),
        timeout=90,
    )
    wait_for(
        "the preference event recorded",
        lambda: [
            i for i in query(f"{PNID}#EV#user_preferences") if customer in json.dumps(i["value"])
        ],
    )
    settle(stack)
    bucket = stack.outputs["MediaBucketName"]
    media_key = f"media/{hashlib.sha256(photo).hexdigest()}"
    stack.client("s3").head_object(Bucket=bucket, Key=media_key)  # it is there
    assert scan_naming(stack, customer)

    run = stack.invoke(
        "QueueProcessorFunction", {"erase_customer": {"phone_number_id": PNID, "wa_id": customer}}
    )
    assert run.ok, run.error
    report = run.payload
    assert report["complete"] is True
    assert report["messages"] >= 5  # 3 in, at least 2 replies out
    assert report["statuses"] >= 2 * 3 and report["contact"] == 1 and report["events"] >= 1
    assert report["media_deleted"] == 1

    assert scan_naming(stack, customer) == []
    with pytest.raises(Exception) as missing:
        stack.client("s3").head_object(Bucket=bucket, Key=media_key)
    assert "404" in str(missing.value) or "Not Found" in str(missing.value)

    again = stack.invoke(
        "QueueProcessorFunction", {"erase_customer": {"phone_number_id": PNID, "wa_id": customer}}
    )
    assert again.ok, again.error
    assert again.payload["deleted"] == 0 and again.payload["complete"] is True
