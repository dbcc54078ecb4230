"""Erasing a customer deletes all they left (both directions, statuses, lookups, media
only they sent, events, markers, contact), touches no one else, and is resumable."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.unit.indexed_table import indexed_state_table
from wacloud.erasure import erase_customer
from wacloud.graph.client import MediaInfo
from wacloud.inbound.processor import InboundProcessor
from wacloud.inbound.responder import EchoResponder
from wacloud.infra import aws
from wacloud.infra.clock import iso, now
from wacloud.infra.dynamo import unmarshal
from wacloud.outbound.ratelimit import PAIR_RATE, acquire, bucket_pk
from wacloud.store import inbound_log as events
from wacloud.store import messages, reach
from wacloud.store.contacts import contact_pk

PAYLOADS = Path(__file__).parent.parent / "payloads"
PNID = "100000000000001"
GONE = "15550009999"  # the customer who asks to be erased (a marker: in no log line)
STAYS = "15550001111"
BUCKET = "media"
SHARED = b"RIFF\x00\x00\x00\x00WEBPVP8 shared sticker"
PRIVATE = b"\xff\xd8\xff private photo"


class Media:
    """Meta's media endpoints: the bytes of whichever media id is asked for."""

    def __init__(self) -> None:
        self.by_id: dict[str, bytes] = {}

    def get_media(self, media_id: str, phone_number_id: str) -> MediaInfo:
        data = self.by_id[media_id]
        return MediaInfo(
            media_id,
            f"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}",
            "image/jpeg",
            hashlib.sha256(data).hexdigest(),
            len(data),
        )

    def download_media(self, url: str, phone_number_id: str, max_bytes: int) -> bytes:
        return self.by_id[url.rsplit("=", 1)[-1]]


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch, MEDIA_BUCKET=BUCKET) as name:
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield name


def webhook(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return doc


def image_from(customer: str, wamid: str, data: bytes, media: Media, at: int) -> dict[str, Any]:
    doc = webhook("message_image.json")
    value = doc["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = customer
    message = value["messages"][0]
    media_id = hashlib.sha256(wamid.encode()).hexdigest()[:16]
    media.by_id[media_id] = data
    message.update({"from": customer, "id": wamid, "timestamp": str(at)})
    message["image"].update({"id": media_id, "sha256": hashlib.sha256(data).hexdigest()})
    return doc


def text_from(customer: str, wamid: str, body: str, at: int) -> dict[str, Any]:
    doc = webhook("message_text.json")
    value = doc["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = customer
    value["messages"][0].update({"from": customer, "id": wamid, "timestamp": str(at)})
    value["messages"][0]["text"]["body"] = body
    return doc


def preference_of(customer: str, value: str, at: int) -> dict[str, Any]:
    doc = webhook("field_user_preferences_stop.json")
    change = doc["entry"][0]["changes"][0]["value"]
    change["contacts"][0]["wa_id"] = customer
    change["user_preferences"][0].update({"wa_id": customer, "value": value, "timestamp": at})
    return doc


def our_reply_to(customer: str, message_id: str, wamid: str) -> None:
    """An outbound message as the sender leaves it: claimed, sent, statuses recorded."""
    fields = {
        "to": customer,
        "type": "text",
        "gsi1pk": contact_pk(PNID, customer),
        "gsi1sk": f"{iso(now())}#OUT",
        "direction": "out",
    }
    claim = messages.claim(PNID, message_id, fields)
    assert claim.token is not None
    messages.mark_sent(PNID, message_id, claim.token, wamid, customer)
    for status in ("sent", "delivered", "read"):
        events.record_status(PNID, wamid, status, now(), {"recipient_id": customer})
        messages.apply_status(PNID, message_id, status, now(), wamid, None)


def a_customer_history(customer: str, media: Media, tag: str) -> None:
    at = int(now()) - 100
    processor = InboundProcessor(
        responder=EchoResponder(),
        submit=lambda docs: None,
        media_source=media,
        media_store=aws.s3(),
        media_bucket=BUCKET,
    )
    processor.process(text_from(customer, f"wamid.{tag}.text", "MARKER-TEXT-7731", at))
    processor.process(image_from(customer, f"wamid.{tag}.shared", SHARED, media, at + 1))
    processor.process(text_from(customer, f"wamid.{tag}.stop", "STOP", at + 2))
    processor.process(preference_of(customer, "resume", at + 3))
    our_reply_to(customer, f"out-{tag}-1", f"wamid.{tag}.out1")
    our_reply_to(customer, f"out-{tag}-2", f"wamid.{tag}.out2")
    reach._mark(PNID, customer, now())  # counted for the messaging limit
    acquire(bucket_pk("PAIR", PNID, customer), 1, PAIR_RATE, ttl_seconds=86_400)


def everything() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": "state"}
    while True:
        page = client.scan(**kwargs)
        items.extend(unmarshal(i) for i in page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def naming(number: str) -> list[dict[str, Any]]:
    return [i for i in everything() if number in json.dumps(i, default=str)]


def objects() -> set[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"] for o in listed}


def test_erase_leaves_nothing_naming_the_customer_and_keeps_the_others(
    table: str, caplog: pytest.LogCaptureFixture
) -> None:
    media = Media()
    a_customer_history(GONE, media, "g")
    a_customer_history(STAYS, media, "s")
    InboundProcessor(
        responder=EchoResponder(),
        submit=lambda docs: None,
        media_source=media,
        media_store=aws.s3(),
        media_bucket=BUCKET,
    ).process(image_from(GONE, "wamid.g.private", PRIVATE, media, int(now())))
    private_key = f"media/{hashlib.sha256(PRIVATE).hexdigest()}"
    shared_key = f"media/{hashlib.sha256(SHARED).hexdigest()}"
    assert {private_key, shared_key} <= objects()
    wamids_of_gone = [i for i in everything() if "wamid.g." in json.dumps(i, default=str)]
    assert naming(GONE) and wamids_of_gone
    # The assistant's running summary is text about the customer (#12).
    from wacloud.store import conversations

    conversations.set_summary(PNID, GONE, summary="MARKER-TEXT-7731 again", upto="1", at=now())
    stays_before = naming(STAYS)
    caplog.clear()

    report = erase_customer(PNID, GONE, media_store=aws.s3(), media_bucket=BUCKET)

    assert report.complete
    assert naming(GONE) == []
    assert [i for i in everything() if "wamid.g." in json.dumps(i, default=str)] == []
    assert report.messages == 6  # 2 texts and 2 images in, 2 replies out
    assert report.statuses == 6 and report.wamid_lookups == 2
    assert report.events == 1 and report.limits == 2 and report.contact == 1
    assert report.conversation == 1
    assert report.media_deleted == 1 and report.media_kept == 1  # the sticker STAYS sent too
    assert private_key not in objects() and shared_key in objects()
    assert naming(STAYS) == stays_before  # the other customer is untouched
    logged = " ".join(str(r.__dict__) for r in caplog.records)
    assert "customer erased" in logged
    assert GONE not in logged and "MARKER-TEXT-7731" not in logged
    assert "15*******99" in logged  # masked, for correlation

    again = erase_customer(PNID, GONE, media_store=aws.s3(), media_bucket=BUCKET)
    assert again.complete and again.deleted() == 0


def test_erase_cut_short_finishes_on_the_next_run(table: str) -> None:
    media = Media()
    a_customer_history(GONE, media, "g")
    stopped = erase_customer(
        PNID, GONE, media_store=aws.s3(), media_bucket=BUCKET, deadline=now() - 1
    )
    assert not stopped.complete and stopped.contact == 0
    assert naming(GONE)
    finished = erase_customer(PNID, GONE, media_store=aws.s3(), media_bucket=BUCKET)
    assert finished.complete and finished.contact == 1
    assert naming(GONE) == []
    assert objects() == set()  # no one else sent the sticker here


def test_a_plus_prefixed_number_is_the_same_customer(table: str) -> None:
    our_reply_to(GONE, "out-plus", "wamid.plus")
    report = erase_customer(PNID, "+" + GONE)
    assert report.messages == 1 and naming(GONE) == []


def test_a_replayed_webhook_after_erasure_is_recorded_again_and_erased_again(table: str) -> None:
    """Meta may still deliver a late status or a retried message: erasure is not a
    block, it is run again (README, "Operating")."""
    doc = text_from(GONE, "wamid.late", "hello", int(now()))
    processor = InboundProcessor(responder=EchoResponder(), submit=lambda docs: None)
    processor.process(copy.deepcopy(doc))
    erase_customer(PNID, GONE)
    processor.process(copy.deepcopy(doc))
    assert naming(GONE)
    assert erase_customer(PNID, GONE).messages == 1
    assert naming(GONE) == []
