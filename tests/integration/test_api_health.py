"""The health report through the operator API on the local stack (GET /v1/ops/health).

Real parts: the InboundProcessor's heartbeat after a customer's message, WebhookReceive's
refusal metrics (its EMF lines, put in moto's CloudWatch by the local stack as
CloudWatch Logs would, local/emf.py), Meta's emulator answering the token check, and a
dead-letter queue holding a message.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.waiting import wait_for
from tests.integration.api_client import Api
from tests.integration.test_outbound import open_window
from tests.integration.test_webhook_receive import signed_post

pytestmark = pytest.mark.integration


def checks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [c for c in body["checks"] if c["name"] == name]


def test_a_customer_message_shows_as_a_recent_webhook(api: Any, stack: Any, customer: str) -> None:
    sent_at = time.time()
    open_window(stack, customer)

    def recent() -> dict[str, Any] | None:
        answer = api("admin").get("/v1/ops/health", params={"phone_number_id": PNID})
        assert answer.status_code == 200, answer.text
        [check] = checks(answer.json(), "last_webhook")
        # Noted at most once a minute per container: another test's message may have
        # been noted just before this one.
        fresh = check["last_webhook_at"] and check["last_webhook_at"] >= sent_at - 61
        return answer.json() if fresh else None

    body = wait_for("the heartbeat of the customer's message", recent, timeout=60)
    [webhook] = checks(body, "last_webhook")
    assert webhook["status"] == "ok" and webhook["phone_number_id"] == PNID
    assert 0 <= webhook["age_seconds"] < 120
    [token] = checks(body, "meta_token")
    assert token["status"] == "ok"  # the emulator accepts the stack's token
    assert {c["name"] for c in body["checks"]} == {
        "last_webhook",
        "webhook_refusals",
        "meta_token",
        "backlogs",
    }
    assert stack.config.access_token not in str(body)
    assert api("agent").get("/v1/ops/health").status_code == 403
    assert api(None).get("/v1/ops/health").status_code == 401
    unknown = api("admin").get("/v1/ops/health", params={"phone_number_id": "999"})
    assert unknown.error_code == "not_found"


def test_a_badly_signed_webhook_raises_the_refusal_count(api: Any, stack: Any) -> None:
    def refusals() -> dict[str, Any]:
        answer = api("admin").get("/v1/ops/health")
        assert answer.status_code == 200, answer.text
        [check] = checks(answer.json(), "webhook_refusals")
        return dict(check)

    before = refusals()
    assert "bad_signature" in before, before  # the metrics were readable
    response = signed_post(stack, b'{"object":"whatsapp_business_account"}', "sha256=" + "0" * 64)
    assert response.status_code == 403

    def counted() -> dict[str, Any] | None:
        check = refusals()
        return check if check["bad_signature"] > before["bad_signature"] else None

    after = wait_for("the refusal in the metrics", counted, timeout=60)
    assert after["status"] == "warn" and "bad signature" in after["detail"]
    assert after["bad_signature"] == before["bad_signature"] + 1


def test_a_dead_letter_and_a_refused_token_make_it_degraded(make_stack: Any) -> None:
    stack = make_stack()
    api = Api(stack)
    assert stack.emulator is not None
    # Meta answers the number's token check with 190 (invalid or expired token).
    stack.emulator.faults.force_error(
        190, times=1000, path_contains=f"/{PNID}", method="GET", http_status=401
    )
    dlq_url = stack.resolver.refs["OutboundDeadLetterQueue"]  # a queue's Ref: its URL
    stack.client("sqs").send_message(QueueUrl=dlq_url, MessageBody='{"poisoned": true}')
    answer = api("admin").get("/v1/ops/health")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "degraded"
    [backlogs] = checks(body, "backlogs")
    assert backlogs["status"] == "fail"
    assert "OutboundDeadLetterQueue" in backlogs["detail"]
    assert backlogs["dead_letters"] == {"OutboundDeadLetterQueue": 1}
    [token] = checks(body, "meta_token")
    assert token["status"] == "fail" and token["code"] == 190
    [webhook] = checks(body, "last_webhook")
    assert webhook["status"] == "warn"  # a fresh stack has had no webhook yet
    assert stack.config.access_token not in answer.text
