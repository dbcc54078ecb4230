"""The inbound room on the local stack: media, receipts, batches, duplicates, order, consent.

Webhooks either come from the emulator (a customer acting) or are built from the
payload corpus, re-addressed to this test's customer and signed like Meta's.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.emulator.config import WebhookDeliveryConfig
from local.stack import LocalStack
from local.waiting import wait_for

pytestmark = pytest.mark.integration

PAYLOADS = Path(__file__).parent.parent / "payloads"
CORPUS_CUSTOMERS = ("15551234567", "15557654321")
T = TypeVar("T")


# ------------------------------------------------------------------ helpers
def allow_plain_http_to_media_bucket(stack: LocalStack) -> None:
    """moto enforces the template's TLS-only bucket policy, and it serves plain HTTP,
    so every S3 write on the local stack is denied. Until the local stack handles
    that (reported to the lead), tests that store media drop the policy."""
    stack.client("s3").delete_bucket_policy(Bucket=stack.outputs["MediaBucketName"])


@pytest.fixture(autouse=True)
def _media_bucket_writable(request: pytest.FixtureRequest) -> None:
    if "stack" in request.fixturenames:
        stack = request.getfixturevalue("stack")
        allow_plain_http_to_media_bucket(stack)
        warm_up(stack)


_warm: set[int] = set()


def warm_up(stack: LocalStack) -> None:
    """Wait once per stack until a customer message makes the whole round (cold
    starts on a loaded machine take seconds), so each test's timeouts measure it."""
    if id(stack) in _warm:
        return
    assert stack.emulator is not None
    from wacloud.store import contacts

    stack.emulator.customer_text("15559990000", "warm up")
    wait_for("stack warm", lambda: contacts.load(PNID, "15559990000"), timeout=90)
    _warm.add(id(stack))


def corpus(
    name: str, customer: str, *, tag: str | None = None, fresh: bool = True
) -> dict[str, Any]:
    """A corpus payload addressed to ``customer`` (both corpus users become this one,
    or ``customer`` and ``customer``+"9"), with wamids made unique by ``tag``."""
    text = (PAYLOADS / name).read_text()
    text = text.replace(CORPUS_CUSTOMERS[0], customer).replace(CORPUS_CUSTOMERS[1], customer + "9")
    tag = tag or uuid.uuid4().hex[:8]
    text = text.replace('"wamid.', f'"wamid.{tag}.')
    doc: dict[str, Any] = json.loads(text)
    if fresh:  # a message from 2025 opens no window today: replies would be refused
        for message in messages_in(doc):
            message["timestamp"] = str(int(time.time()))
    return doc


def post(stack: LocalStack, doc: dict[str, Any] | bytes, **headers: str) -> httpx.Response:
    from wacloud.inbound.signature import sign

    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    sent_headers = {
        "content-type": "application/json",
        "x-hub-signature-256": sign(body, stack.config.app_secret.encode()),
        **headers,
    }
    return httpx.post(stack.webhook_url, content=body, headers=sent_headers, timeout=30)


def inbound(customer: str, wamid: str, pnid: str = PNID) -> dict[str, Any] | None:
    from wacloud.store import inbound_log as events

    return next((i for i in events.conversation(pnid, customer) if i.get("wamid") == wamid), None)


def inbound_records(customer: str) -> list[dict[str, Any]]:
    from wacloud.store import inbound_log as events

    return [i for i in events.conversation(PNID, customer) if i.get("direction") == "in"]


def messages_in(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        m
        for e in doc["entry"]
        for c in e.get("changes", [])
        for m in c.get("value", {}).get("messages", [])
    ]


def statuses_in(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for e in doc["entry"]
        for c in e.get("changes", [])
        for s in c.get("value", {}).get("statuses", [])
    ]


def settle(stack: LocalStack, quiet: float = 1.5, timeout: float = 60.0) -> None:
    """Wait until the emulator has had nothing to send for ``quiet`` seconds: the room
    a wrong second record or reply would need to show up. (Queue depth is not used:
    on the shared stack other tests' deferred sends legitimately wait there.)"""
    assert stack.emulator is not None
    deadline = time.monotonic() + timeout
    calm_since: float | None = None
    while time.monotonic() < deadline:
        if stack.emulator.webhooks_idle():
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet:
                return
        else:
            calm_since = None
        time.sleep(0.1)
    raise AssertionError("the emulator kept sending webhooks")


# ------------------------------------------------------------------ media
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 3000
PDF = b"%PDF-1.4\n" + b"d" * 5000
OGG = b"OggS" + b"\x00" * 24 + b"OpusHead" + b"a" * 2000
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"v" * 4000
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"s" * 2000

MEDIA_CASES = [
    ("image", {"data": JPEG, "mime_type": "image/jpeg", "caption": "the seal"}, JPEG),
    ("image", {"data": PNG, "mime_type": "image/png"}, PNG),
    ("audio", {"data": OGG, "mime_type": "audio/ogg; codecs=opus", "voice": True}, OGG),
    ("video", {"data": MP4, "mime_type": "video/mp4"}, MP4),
    ("document", {"data": PDF, "mime_type": "application/pdf", "filename": "bill.pdf"}, PDF),
    ("sticker", {"data": WEBP, "mime_type": "image/webp", "animated": False}, WEBP),
]


@pytest.mark.parametrize(("kind", "media", "data"), MEDIA_CASES)
def test_inbound_media_is_cached_in_s3(
    stack: LocalStack, customer: str, kind: str, media: dict[str, Any], data: bytes
) -> None:
    assert stack.emulator is not None
    wamid = stack.emulator.customer_sends(customer, {"type": kind, kind: dict(media)})
    record = wait_for("media on the inbound record", lambda: inbound(customer, wamid) or {})
    digest = hashlib.sha256(data).hexdigest()
    assert "media_error" not in record, record.get("media_error")
    assert record["media"]["s3_key"] == f"media/{digest}"
    assert record["media"]["size"] == len(data)
    assert record["media"]["mime_type"] == media["mime_type"]
    obj = stack.client("s3").get_object(Bucket=record["media"]["bucket"], Key=f"media/{digest}")
    assert obj["Body"].read() == data
    assert obj["ContentType"] == media["mime_type"]


def test_expired_media_url_is_refreshed(stack: LocalStack, customer: str) -> None:
    assert stack.emulator is not None
    data = JPEG + customer.encode()  # unique content: not already in the bucket
    stack.emulator.faults.force_error(
        100, path_contains="/whatsapp_business/attachments", http_status=404
    )
    try:
        wamid = stack.emulator.customer_sends(
            customer, {"type": "image", "image": {"data": data, "mime_type": "image/jpeg"}}
        )
        record = wait_for("media cached", lambda: inbound(customer, wamid) or {})
    finally:
        stack.emulator.faults.clear()
    assert record["media"]["sha256"] == hashlib.sha256(data).hexdigest()
    downloads = [
        r for r in stack.emulator.requests() if "/whatsapp_business/attachments" in r["path"]
    ]
    assert len(downloads) >= 2


def test_media_unavailable_now_is_recorded_answered_and_attached_later(
    stack: LocalStack, customer: str
) -> None:
    """Meta cannot deliver the media for now (HTTP 500s): the message is recorded at
    once with its media pending and answered; a later retry attaches the media. One
    record, one answer."""
    assert stack.emulator is not None
    data = JPEG + b"later" + customer.encode()  # unique content: not in the bucket yet
    stack.emulator.faults.force_error(
        131000, times=100_000, path_contains="/whatsapp_business/attachments", http_status=500
    )
    try:
        wamid = stack.emulator.customer_sends(
            customer, {"type": "image", "image": {"data": data, "mime_type": "image/jpeg"}}
        )
        record = wait_for("message recorded", lambda: inbound(customer, wamid), timeout=60)
        assert record["media_status"] == "pending", record.get("media_error")
        assert "media" not in record and "media_error" not in record
        wait_for("the answer", lambda: stack.emulator.sent_messages(to=customer), timeout=60)
        assert (inbound(customer, wamid) or {}).get("media_status") == "pending"
    finally:
        stack.emulator.faults.clear()

    def attached() -> dict[str, Any] | None:
        found = inbound(customer, wamid) or {}
        return found if found.get("media_status") != "pending" else None

    record = wait_for("media attached by a retry", attached, timeout=90)
    assert record["media_status"] == "stored", record.get("media_error")
    assert record["media"]["sha256"] == hashlib.sha256(data).hexdigest()
    settle(stack)
    assert len(stack.emulator.sent_messages(to=customer)) == 1
    assert [r["wamid"] for r in inbound_records(customer)] == [wamid]


def test_unfetchable_media_keeps_the_message(stack: LocalStack, customer: str) -> None:
    doc = corpus("message_image.json", customer)  # its media id is unknown to Meta
    wamid = messages_in(doc)[0]["id"]
    assert post(stack, doc).status_code == 200
    record = wait_for("message recorded", lambda: inbound(customer, wamid))
    assert record["media_error"]["code"] == "download_failed"
    assert record["content"]["image"]["caption"] == "Broken seal"
    assert "media" not in record


class _Attacker(http.server.ThreadingHTTPServer):
    """A host a forged webhook names: records every request it gets (none, we hope)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.path, self.headers.get("Authorization")))
                self.send_response(200)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"evil")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_webhook_media_url_on_a_foreign_host_gets_no_token(
    stack: LocalStack, customer: str
) -> None:
    """A signed webhook whose media ``url`` names another host (here another port on the
    same machine, which is another origin): the processor never calls it, and stores the
    media from a fresh ``GET /{media-id}`` URL on the emulator (the Graph origin)."""
    assert stack.emulator is not None
    data = JPEG + b"foreign" + customer.encode()
    media = stack.emulator.core.upload_media(PNID, "image/jpeg", data, None)
    attacker = _Attacker()
    try:
        doc = corpus("message_image.json", customer)
        message = messages_in(doc)[0]
        port = attacker.server_address[1]
        message["image"].update(
            id=media.id,
            sha256=hashlib.sha256(data).hexdigest(),
            url=f"http://127.0.0.1:{port}/whatsapp_business/attachments/?mid={media.id}",
        )
        assert post(stack, doc).status_code == 200
        record = wait_for("media cached", lambda: inbound(customer, message["id"]))
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert attacker.seen == []
    assert "media_error" not in record, record.get("media_error")
    assert record["media"]["sha256"] == hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ read + typing
def test_read_receipt_and_typing_indicator(stack: LocalStack, customer: str) -> None:
    assert stack.emulator is not None
    wamid = stack.emulator.customer_text(customer, "hello there")
    wait_for("reply sent", lambda: stack.emulator and stack.emulator.sent_messages(to=customer))

    def receipts() -> list[dict[str, Any]]:
        assert stack.emulator is not None
        return [
            r
            for r in stack.emulator.requests()
            if (r.get("json") or {}).get("status") == "read"
            and (r.get("json") or {}).get("message_id") == wamid
        ]

    found = wait_for("read receipt", receipts)
    assert len(found) == 1
    assert found[0]["json"]["typing_indicator"] == {"type": "text"}
    assert found[0]["status"] == 200


# ------------------------------------------------------------------ batches and duplicates
def test_batched_post_processes_every_item(stack: LocalStack, customer: str) -> None:
    from wacloud.store import inbound_log as events

    doc = corpus("batch_mixed.json", customer)
    assert post(stack, doc).status_code == 200
    for entry in doc["entry"]:  # the batch spans two business numbers
        for change in entry["changes"]:
            pnid = (change["value"].get("metadata") or {}).get("phone_number_id")
            for message in change["value"].get("messages", []):
                wait_for(
                    f"message {message['id']}",
                    lambda m=message, p=pnid: inbound(m["from"], m["id"], p),
                )
    for status in statuses_in(doc):
        wait_for(
            f"status {status['id']} {status['status']}",
            lambda s=status: [
                h for h in events.status_history(PNID, s["id"]) if h["status"] == s["status"]
            ],
        )


def test_duplicated_webhooks_change_nothing(stack: LocalStack, customer: str) -> None:
    from wacloud.store import inbound_log as events

    assert stack.emulator is not None
    doc = corpus("message_text.json", customer)
    wamid = messages_in(doc)[0]["id"]
    statuses = corpus("statuses_out_of_order.json", customer)
    for _ in range(3):
        assert post(stack, doc).status_code == 200
        assert post(stack, statuses).status_code == 200
    # Meta also batches a retry with other items: the same message twice in one POST.
    twice = corpus("duplicate_message.json", customer)
    assert post(stack, twice).status_code == 200
    wait_for("reply sent", lambda: stack.emulator and stack.emulator.sent_messages(to=customer))
    # settle() watches the emulator, not our inbound queue: on a busy machine the
    # duplicate_message item can still be queued when the emulator falls quiet.
    wait_for("both messages recorded", lambda: len(inbound_records(customer)) >= 2, timeout=60)
    # Each reply passes through more steps than the recording (moderation, the handoff
    # gate, the assistant's settings, the Sender): wait for both before settling.
    emulator = stack.emulator
    wait_for("a reply to each", lambda: len(emulator.sent_messages(to=customer)) >= 2, timeout=60)
    settle(stack)
    assert [i["wamid"] for i in inbound_records(customer)].count(wamid) == 1
    assert len(inbound_records(customer)) == 2  # the corpus message and duplicate_message
    # One auto-reply per inbound message, never a second one for a duplicate.
    replied_to = [
        m["payload"].get("context", {}).get("message_id")
        for m in stack.emulator.sent_messages(to=customer)
    ]
    assert sorted(replied_to) == sorted({i["wamid"] for i in inbound_records(customer)})
    history = events.status_history(PNID, statuses_in(statuses)[0]["id"])
    assert sorted(h["status"] for h in history) == ["delivered", "read", "sent"]


def test_statuses_out_of_order_end_read_with_full_history(stack: LocalStack, customer: str) -> None:
    from wacloud.store import inbound_log as events
    from wacloud.store import messages

    doc = corpus("statuses_out_of_order.json", customer)
    wamid = statuses_in(doc)[0]["id"]
    message_id = f"m-{uuid.uuid4().hex}"
    # Our message, as the sender leaves it once Meta accepted it.
    messages.record_new(PNID, message_id, messages.State.SENDING, {"to": customer})
    messages.link_wamid(PNID, message_id, wamid)
    order = [s["status"] for s in statuses_in(doc)]
    assert order == ["read", "sent", "delivered"]  # read first, as the corpus has it
    for status in statuses_in(doc):  # one POST per status, in that order, then again
        single = json.loads(json.dumps(doc))
        single["entry"][0]["changes"][0]["value"]["statuses"] = [status]
        assert post(stack, single).status_code == 200
    assert post(stack, doc).status_code == 200

    def final() -> dict[str, Any] | None:
        record = messages.load(PNID, message_id)
        history = events.status_history(PNID, wamid)
        return record if record and record["state"] == "read" and len(history) == 3 else None

    record = wait_for("state read and three statuses", final)
    settle(stack)
    history = events.status_history(PNID, wamid)
    assert [h["status"] for h in history] == ["sent", "delivered", "read"]
    assert [h["occurred_at"] for h in history] == [1750000100, 1750000101, 1750000102]
    assert messages.load(PNID, message_id)["state"] == "read"  # type: ignore[index]
    assert record["wamid"] == wamid or record.get("message_id") == message_id


# ------------------------------------------------------------------ consent
def next_second(stack: LocalStack) -> None:
    """Wait until the emulator's clock (Meta's one-second timestamps) has ticked, so
    the next consent change is newer than the last (store/contacts.apply_consent)."""
    assert stack.emulator is not None
    emulator = stack.emulator
    last = int(emulator.clock.now())
    wait_for("the next second", lambda: int(emulator.clock.now()) > last, timeout=5)


def test_user_preferences_stop_and_resume(stack: LocalStack, customer: str) -> None:
    from wacloud.store import contacts

    assert stack.emulator is not None
    stack.emulator.user_preferences(customer, "stop")
    wait_for(
        "opted out",
        lambda: (contacts.load(PNID, customer) or {}).get("opted_out_marketing") is True,
    )
    next_second(stack)  # a change of the same second would lose to the opt-out
    stack.emulator.user_preferences(customer, "resume")
    contact = wait_for(
        "opted back in",
        lambda: (
            (c := contacts.load(PNID, customer)) and c.get("opted_out_marketing") is False and c
        ),
    )
    assert contact["opted_out_marketing_reason"] == "user_preferences"


def test_stop_and_start_keywords_confirm(stack: LocalStack, customer: str) -> None:
    from wacloud.inbound.processor import OPT_IN_CONFIRMATION, OPT_OUT_CONFIRMATION
    from wacloud.store import contacts

    assert stack.emulator is not None
    stack.emulator.customer_text(customer, "STOP")
    wait_for(
        "opted out",
        lambda: (contacts.load(PNID, customer) or {}).get("opted_out_marketing") is True,
    )
    wait_for("confirmation", lambda: stack.emulator and stack.emulator.sent_messages(to=customer))
    next_second(stack)  # a change of the same second would lose to the opt-out
    stack.emulator.customer_text(customer, "start")
    wait_for(
        "opted in",
        lambda: (contacts.load(PNID, customer) or {}).get("opted_out_marketing") is False,
    )
    bodies = wait_for(
        "two confirmations",
        lambda: (
            stack.emulator
            and len(stack.emulator.sent_messages(to=customer)) == 2
            and [m["payload"]["text"]["body"] for m in stack.emulator.sent_messages(to=customer)]
        ),
    )
    assert bodies == [OPT_OUT_CONFIRMATION, OPT_IN_CONFIRMATION]


# ------------------------------------------------------------------ unknown
def test_unknown_types_and_fields_are_recorded_not_fatal(stack: LocalStack, customer: str) -> None:
    from wacloud.infra.dynamo import query

    unknown_message = corpus("message_unknown_type.json", customer)
    wamid = messages_in(unknown_message)[0]["id"]
    unknown_field = corpus("field_unknown.json", customer)
    unknown_field["entry"][0]["changes"][0]["value"]["nonce"] = customer  # a fresh item
    field = unknown_field["entry"][0]["changes"][0]["field"]
    assert post(stack, unknown_message).status_code == 200
    assert post(stack, unknown_field).status_code == 200
    record = wait_for("unknown message recorded", lambda: inbound(customer, wamid))
    assert record["type"] == messages_in(unknown_message)[0]["type"]
    waba = unknown_field["entry"][0]["id"]
    pnid = (unknown_field["entry"][0]["changes"][0]["value"].get("metadata") or {}).get(
        "phone_number_id"
    )
    wait_for(
        "unknown field recorded",
        lambda: [
            e
            for e in query(f"{pnid or waba}#EV#{field}")
            if e.get("value", {}).get("nonce") == customer
        ],
    )
    log = (stack.config.log_dir or Path()) / "InboundProcessorFunction.log"
    wait_for("warnings logged", lambda: "unknown webhook field recorded" in log.read_text())
    assert "unknown inbound message type recorded" in log.read_text()


# ------------------------------------------------------------------ Meta's delivery modes
def test_batched_shuffled_duplicated_deliveries_are_processed_once(
    make_stack: Callable[..., LocalStack],
) -> None:
    """The emulator batches webhooks, shuffles them and re-sends half of them."""
    from wacloud.store import inbound_log as events
    from wacloud.store import messages

    stack = make_stack(
        stack_name=f"wacloud-modes-{uuid.uuid4().hex[:6]}",
        emulator={
            "delivery": WebhookDeliveryConfig(
                batch_size=25, batch_window=0.2, out_of_order=True, duplicate_rate=1.0
            )
        },
    )
    emulator = stack.emulator
    assert emulator is not None
    customers = [f"1666{n:07d}" for n in range(8)]
    wamids = {c: emulator.customer_text(c, f"order {c}") for c in customers}
    # Generous: on a loaded machine a batch that outlives the function's timeout comes
    # back only after the queue's visibility timeout, as in AWS.
    wait_for(
        "a reply to everyone",
        lambda: all(emulator.sent_messages(to=c) for c in customers),
        timeout=240,
    )
    settle(stack, timeout=40)
    assert any(w.get("duplicate") for w in emulator.webhooks()), "no duplicate was sent"
    for customer, wamid in wamids.items():
        records = inbound_records(customer)
        assert [r["wamid"] for r in records] == [wamid]
        sent = emulator.sent_messages(to=customer)
        assert len(sent) == 1, f"{customer} got {len(sent)} replies"
        reply = next(i for i in events.conversation(PNID, customer) if i.get("direction") == "out")
        # The last status may still be on its way through the inbound queue.
        wait_for(
            f"{customer}'s reply read",
            lambda r=reply: (messages.load(PNID, r["message_id"]) or {}).get("state") == "read",
        )

        # Statuses arrive shuffled: `sent` may still be on the inbound queue after `read`.
        def sent_recorded(wamid: str = sent[0]["wamid"]) -> list[dict[str, Any]] | None:
            history = events.status_history(PNID, wamid)
            return history if any(h["status"] == "sent" for h in history) else None

        history = wait_for(f"{customer}'s sent status recorded", sent_recorded)
        statuses = sorted(h["status"] for h in history)
        assert statuses in (["delivered", "read", "sent"], ["read", "sent"]), statuses
