"""Step 1: text sends, auth, status webhooks, customer messages, mark-as-read (over HTTP)."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from local.emulator import Emulator

from .conftest import PNID, SECRET, USER, WABA, Receiver, assert_error, send


def test_text_send_success_shape(emu: Emulator, client: httpx.Client) -> None:
    emu.customer_text(USER, "hi")
    r = send(
        client,
        {"to": "+1 (555) 123-4567", "type": "text", "text": {"body": "hello", "preview_url": True}},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+1 (555) 123-4567", "wa_id": USER}]
    assert body["messages"][0]["id"].startswith("wamid.")
    assert "message_status" not in body["messages"][0]
    sent = emu.sent_messages(to=USER)
    assert [m["wamid"] for m in sent] == [body["messages"][0]["id"]]


def test_missing_and_wrong_token_is_190_401(client: httpx.Client, emu: Emulator) -> None:
    r = httpx.post(f"{emu.url}/v23.0/{PNID}/messages", json={})
    assert_error(r, 190, 401)
    r = httpx.post(
        f"{emu.url}/v23.0/{PNID}/messages", json={}, headers={"Authorization": "Bearer nope"}
    )
    assert_error(r, 190, 401)


def test_status_webhooks_in_meta_shape(
    emu: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emu.customer_text(USER, "hi")
    r = send(
        client,
        {"to": USER, "type": "text", "text": {"body": "x"}, "biz_opaque_callback_data": "trk-1"},
    )
    wamid = r.json()["messages"][0]["id"]
    statuses = emu.wait_for(
        lambda: (
            [s for s in receiver.statuses() if s["id"] == wamid]
            if len([s for s in receiver.statuses() if s["id"] == wamid]) >= 3
            else None
        )
    )
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    sent = statuses[0]
    assert sent["recipient_id"] == USER
    assert isinstance(sent["timestamp"], str)
    assert sent["biz_opaque_callback_data"] == "trk-1"
    assert sent["pricing"] == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "service",
    }
    assert sent["conversation"]["origin"] == {"type": "service"}
    assert "expiration_timestamp" in sent["conversation"]
    assert "expiration_timestamp" not in statuses[1]["conversation"]
    assert "pricing" not in statuses[2]  # pricing on sent and one of delivered/read only
    payload = receiver.payloads()[-1]
    assert payload["object"] == "whatsapp_business_account"
    assert payload["entry"][0]["id"] == WABA
    assert payload["entry"][0]["changes"][0]["field"] == "messages"


def test_webhooks_are_signed_over_exact_bytes(emu: Emulator, receiver: Receiver) -> None:
    emu.customer_text(USER, "hello")
    emu.wait_for(lambda: receiver.received)
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == expected


def test_inbound_message_shape(emu: Emulator, receiver: Receiver) -> None:
    wamid = emu.customer_text(USER, "hi there", profile_name="Sheena")
    value = emu.wait_for(lambda: receiver.changes("messages"))[0]["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {"display_phone_number": "15550000001", "phone_number_id": PNID}
    assert value["contacts"] == [{"profile": {"name": "Sheena"}, "wa_id": USER}]
    msg = value["messages"][0]
    assert msg["id"] == wamid and msg["from"] == USER and msg["type"] == "text"
    assert msg["text"] == {"body": "hi there"}
    assert isinstance(msg["timestamp"], str) and msg["timestamp"].isdigit()


def test_mark_as_read_and_typing(emu: Emulator, client: httpx.Client) -> None:
    wamid = emu.customer_text(USER, "hi")
    r = send(client, {"status": "read", "message_id": wamid})
    assert r.status_code == 200 and r.json() == {"success": True}
    r = send(client, {"status": "read", "message_id": wamid, "typing_indicator": {"type": "text"}})
    assert r.json() == {"success": True}
    assert_error(send(client, {"status": "read", "message_id": "wamid.unknown"}), 131009, 400)
    assert_error(
        send(
            client, {"status": "read", "message_id": wamid, "typing_indicator": {"type": "audio"}}
        ),
        131009,
        400,
    )


def test_mark_as_read_expires_after_30_days(emu: Emulator, client: httpx.Client) -> None:
    wamid = emu.customer_text(USER, "hi")
    emu.clock.advance(30 * 86400 + 1)
    assert_error(send(client, {"status": "read", "message_id": wamid}), 131009, 400)


def test_outside_window_is_200_then_failed_131047(
    emu: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    r = send(client, {"to": USER, "type": "text", "text": {"body": "cold"}})
    assert r.status_code == 200
    wamid = r.json()["messages"][0]["id"]
    st = emu.wait_for(lambda: [s for s in receiver.statuses() if s["id"] == wamid])
    assert st[0]["status"] == "failed"
    err = st[0]["errors"][0]
    assert err["code"] == 131047 and err["title"] == err["message"]
    assert set(err) == {"code", "title", "message", "error_data", "href"}


def test_window_closes_after_24h(emu: Emulator, client: httpx.Client, receiver: Receiver) -> None:
    emu.customer_text(USER, "hi")
    emu.clock.advance(86400 - 60)
    ok = send(client, {"to": USER, "type": "text", "text": {"body": "a"}}).json()
    emu.clock.advance(120)
    late = send(client, {"to": USER, "type": "text", "text": {"body": "b"}}).json()
    ok_id, late_id = ok["messages"][0]["id"], late["messages"][0]["id"]
    emu.wait_for(lambda: {s["id"] for s in receiver.statuses()} >= {ok_id, late_id})
    by_id = {s["id"]: s["status"] for s in receiver.statuses() if s["status"] in ("sent", "failed")}
    assert by_id[ok_id] == "sent" and by_id[late_id] == "failed"


def test_not_on_whatsapp_is_200_then_131026(
    emu: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emu.mark_not_on_whatsapp("15559999999")
    r = send(
        client,
        {
            "to": "15559999999",
            "type": "template",
            "template": {"name": "hello", "language": {"code": "en_US"}},
        },
    )
    emu.add_template("hello")
    r = send(
        client,
        {
            "to": "15559999999",
            "type": "template",
            "template": {"name": "hello", "language": {"code": "en_US"}},
        },
    )
    assert r.status_code == 200
    wamid = r.json()["messages"][0]["id"]
    st = emu.wait_for(lambda: [s for s in receiver.statuses() if s["id"] == wamid])
    assert st[0]["status"] == "failed" and st[0]["errors"][0]["code"] == 131026


def test_webhook_retried_until_200(emu: Emulator, receiver: Receiver) -> None:
    receiver.fail_next = 2
    emu.customer_text(USER, "retry me")
    emu.wait_for(lambda: any(w["status"] == 200 for w in emu.webhooks()))
    attempts = [(w["attempt"], w["status"]) for w in emu.webhooks()]
    assert attempts == [(1, 500), (2, 500), (3, 200)]
    assert len({w["body"] for w in emu.webhooks()}) == 1  # same bytes every attempt


def test_retries_are_bounded(emu: Emulator, receiver: Receiver) -> None:
    emu.dispatcher.cfg.max_attempts = 3
    receiver.fail_next = 100
    emu.customer_text(USER, "never")
    emu.wait_for(emu.webhooks_idle)
    assert [w["attempt"] for w in emu.webhooks()] == [1, 2, 3]


def test_reaction_gets_only_sent(emu: Emulator, client: httpx.Client, receiver: Receiver) -> None:
    inbound = emu.customer_text(USER, "hi")
    r = send(
        client,
        {
            "to": USER,
            "type": "reaction",
            "reaction": {"message_id": inbound, "emoji": "\U0001f600"},
        },
    )
    wamid = r.json()["messages"][0]["id"]
    emu.wait_for(lambda: [s for s in receiver.statuses() if s["id"] == wamid])
    emu.wait_for(emu.webhooks_idle)
    assert [s["status"] for s in receiver.statuses() if s["id"] == wamid] == ["sent"]


def test_requests_are_logged(emu: Emulator, client: httpx.Client) -> None:
    send(client, {"to": USER, "type": "text", "text": {"body": "x" * 4097}})
    rec = emu.requests()[-1]
    assert rec["method"] == "POST" and rec["path"] == f"/v23.0/{PNID}/messages"
    assert rec["status"] == 400 and rec["response"]["error"]["code"] == 100
    assert rec["json"]["text"]["body"] == "x" * 4097
