"""The spine's round trip, end to end over HTTP through the local stack."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from local.waiting import wait_for
from wacloud.inbound.signature import sign
from wacloud.store import contacts, messages
from wacloud.store import inbound_log as events

T = TypeVar("T")


def outbound_records(customer: str) -> list[dict[str, Any]]:
    return [i for i in events.conversation(PNID, customer) if i.get("direction") == "out"]


def test_customer_hi_gets_a_reply_whose_statuses_are_recorded_in_order(
    stack: LocalStack, customer: str
) -> None:
    assert stack.emulator is not None
    wamid = stack.emulator.customer_text(customer, "hi", profile_name="Ana")

    inbound = wait_for(
        "the inbound message recorded",
        lambda: [i for i in events.conversation(PNID, customer) if i.get("wamid") == wamid],
    )
    assert inbound[0]["content"]["text"]["body"] == "hi"
    contact = contacts.load(PNID, customer)
    assert contact is not None and contact["profile_name"] == "Ana"
    assert contacts.window_open(contact)

    sent = wait_for(
        "the reply at the emulator",
        lambda: stack.emulator.sent_messages(to=customer) if stack.emulator else None,
    )
    assert len(sent) == 1
    assert "How can we help" in sent[0]["payload"]["text"]["body"]
    assert sent[0]["payload"]["context"] == {"message_id": wamid}

    record = wait_for(
        "the reply read",
        lambda: next(
            (
                messages.load(PNID, r["message_id"])
                for r in outbound_records(customer)
                if r.get("state") == "read"
            ),
            None,
        ),
    )
    assert record["wamid"] == sent[0]["wamid"]
    states = [h["state"] for h in record["history"]]
    assert states == ["sending", "sent", "delivered", "read"]
    assert record["status_at_delivered"] <= record["status_at_read"]
    # The Sender moves the record to `sent` when Graph accepts the message, so the
    # record can be `read` while Meta's `sent` webhook is still on the inbound queue
    # (inbound/statuses.py): wait for all three status records, then check their order.
    history = wait_for(
        "the three status webhooks recorded",
        lambda: h if len(h := events.status_history(PNID, record["wamid"])) >= 3 else None,
    )
    assert [s["status"] for s in history] == ["sent", "delivered", "read"]


def test_menu_option_answers_and_the_conversation_keeps_order(
    stack: LocalStack, customer: str
) -> None:
    assert stack.emulator is not None
    stack.emulator.customer_text(customer, "hello")
    wait_for(
        "the first reply",
        lambda: stack.emulator.sent_messages(to=customer) if stack.emulator else None,
    )
    stack.emulator.customer_text(customer, "1")
    replies = wait_for(
        "the menu answer",
        lambda: (
            (stack.emulator.sent_messages(to=customer) or [None])[1:] if stack.emulator else None
        ),
    )
    assert "open Monday to Friday" in replies[0]["payload"]["text"]["body"]
    timeline = wait_for(
        "four conversation items",
        lambda: (
            len(events.conversation(PNID, customer)) == 4 and events.conversation(PNID, customer)
        ),
    )
    assert [i["direction"] for i in timeline] == ["in", "out", "in", "out"]


def test_webhook_endpoint_refuses_unsigned_and_parks_unreadable(stack: LocalStack) -> None:
    url = stack.webhook_url
    secret = stack.config.app_secret.encode()
    headers = {"content-type": "application/json"}
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    assert httpx.post(url, content=body, headers=headers).status_code == 401
    wrong = {**headers, "x-hub-signature-256": sign(body, b"not-the-secret")}
    assert httpx.post(url, content=body, headers=wrong).status_code == 403
    malformed = b"{not json"
    signed = {**headers, "x-hub-signature-256": sign(malformed, secret)}
    # Signed but unreadable: parked in the media bucket and answered 200, so Meta does not
    # retry it for a week (test_webhook_receive.py checks what is stored).
    assert httpx.post(url, content=malformed, headers=signed).status_code == 200
    ok = {**headers, "x-hub-signature-256": sign(body, secret)}
    response = httpx.post(url, content=body, headers=ok)
    assert response.status_code == 200


def test_webhook_verification_handshake(stack: LocalStack) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.challenge": "987654",
        "hub.verify_token": stack.config.verify_token,
    }
    good = httpx.get(stack.webhook_url, params=query)
    assert good.status_code == 200
    assert good.text == "987654"
    assert good.headers["content-type"].startswith("text/plain")
    bad = httpx.get(stack.webhook_url, params={**query, "hub.verify_token": "guess"})
    assert bad.status_code == 403
