"""Messages through the operator API on the local stack: sent by the real sender to the
emulator, looked up with their history, scheduled and cancelled, refused with reasons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from local.waiting import wait_for
from tests.integration.test_outbound import open_window, sends_of

pytestmark = pytest.mark.integration


def text(to: str, body: str, **extra: Any) -> dict[str, Any]:
    return {"phone_number_id": PNID, "to": to, "type": "text", "text": {"body": body}, **extra}


def test_a_message_sent_through_the_api_reaches_the_customer_once(
    stack: LocalStack, api: Any, customer: str
) -> None:
    open_window(stack, customer)
    key = uuid.uuid4().hex
    doc = text(customer, "via the API", idempotency_key=key)
    sent = api("admin").post("/v1/messages", json=doc)
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]
    again = api("admin").post("/v1/messages", json=doc)
    assert again.json()["message_id"] == message_id
    path = f"/v1/numbers/{PNID}/messages/{message_id}"

    def delivered() -> dict[str, Any] | None:
        shown = api("agent").get(path).json()
        return shown if shown["status"] in ("delivered", "read") else None

    shown = wait_for("the message delivered", delivered, timeout=60)
    assert shown["wamid"] and shown["to"] == customer and shown["type"] == "text"
    states = [h["status"] for h in shown["history"]]
    assert states[0] == "accepted" and "sending" in states and "sent" in states
    assert len(sends_of(stack, message_id)) == 1
    refused = api("admin").delete(path)
    assert refused.status_code == 409 and refused.error_code == "not_scheduled"


def test_a_scheduled_message_is_cancelled_and_never_sent(
    stack: LocalStack, api: Any, customer: str
) -> None:
    at = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 7200, UTC).isoformat()
    scheduled = api("admin").post("/v1/messages", json=text(customer, "later", send_at=at))
    assert scheduled.status_code == 202 and scheduled.json()["status"] == "scheduled"
    path = f"/v1/numbers/{PNID}/messages/{scheduled.json()['message_id']}"
    assert api("agent").delete(path).error_code == "forbidden"
    cancelled = api("admin").delete(path)
    assert cancelled.json() == {"message_id": scheduled.json()["message_id"], "status": "cancelled"}
    assert api("agent").get(path).json()["status"] == "cancelled"


def test_refusals_name_the_problem(api: Any, customer: str) -> None:
    bad = api("admin").post("/v1/messages", json={**text(customer, "x"), "type": "sticker"})
    assert bad.status_code == 400 and bad.error_code == "invalid_request"
    assert bad.json()["error"]["fields"]
    assert api("admin").get(f"/v1/numbers/{PNID}/messages/mnothere").error_code == "not_found"
    assert api(None).post("/v1/messages", json=text(customer, "x")).status_code == 401
    assert api("agent").post("/v1/messages", json=text(customer, "x")).status_code == 403
