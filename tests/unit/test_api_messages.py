"""POST /v1/messages, GET and DELETE a message, on the real app with mocked AWS."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.unit.api_calls import call
from tests.unit.conftest import mocked_state_table
from wacloud.infra import config

PNID = "100000000000001"
MARKER_TO = "+15557654321"
MARKER_TEXT = "secret-marker-text-42"


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mocked_state_table(monkeypatch):
        url = boto3.client("sqs").create_queue(QueueName="outbound")["QueueUrl"]
        monkeypatch.setenv("OUTBOUND_QUEUE_URL", url)
        config.settings.cache_clear()
        yield url


def queued(url: str) -> list[dict[str, Any]]:
    found = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in found.get("Messages", [])]


def text_doc(**extra: Any) -> dict[str, Any]:
    return {
        "phone_number_id": PNID,
        "to": MARKER_TO,
        "type": "text",
        "text": {"body": MARKER_TEXT},
        **extra,
    }


def test_a_send_is_queued_as_sent_and_recorded_accepted(queue: str) -> None:
    status, body = call("POST", "/v1/messages", body=text_doc(idempotency_key="k1"))
    assert status == 202, body
    assert body["status"] == "accepted" and body["phone_number_id"] == PNID
    assert queued(queue) == [text_doc(idempotency_key="k1")]
    status, shown = call("GET", f"/v1/numbers/{PNID}/messages/{body['message_id']}", "agent")
    assert status == 200
    assert shown["status"] == "accepted" and shown["to"] == "15557654321"
    assert shown["history"][0]["status"] == "accepted"
    assert isinstance(shown["history"][0]["at"], float)


def test_the_same_key_is_the_same_message(queue: str) -> None:
    first = call("POST", "/v1/messages", body=text_doc(idempotency_key="same"))[1]
    second = call("POST", "/v1/messages", body=text_doc(idempotency_key="same"))[1]
    assert first["message_id"] == second["message_id"]


def test_an_invalid_submission_names_the_field_and_queues_nothing(
    queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    doc = text_doc()
    doc["to"] = "12"  # too few digits
    status, body = call("POST", "/v1/messages", body=doc)
    assert status == 400 and body["error"]["code"] == "invalid_request"
    assert "to" in [f["field"] for f in body["error"]["fields"]]
    missing = call("POST", "/v1/messages", body={"phone_number_id": PNID, "type": "text"})[1]
    assert {"to"} <= {f["field"] for f in missing["error"]["fields"]}
    assert queued(queue) == []
    text = json.dumps(body) + json.dumps(missing) + caplog.text
    assert MARKER_TEXT not in text and "12" not in json.dumps(body["error"]["fields"])


def test_a_future_send_at_is_scheduled_and_can_be_cancelled_once(queue: str) -> None:
    at = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 3600, UTC).isoformat()
    status, body = call("POST", "/v1/messages", body=text_doc(send_at=at))
    assert status == 202 and body["status"] == "scheduled" and body["send_at"] > 0
    assert queued(queue) == []
    path = f"/v1/numbers/{PNID}/messages/{body['message_id']}"
    assert call("DELETE", path, "agent")[0] == 403
    status, cancelled = call("DELETE", path)
    assert status == 200 and cancelled == {"message_id": body["message_id"], "status": "cancelled"}
    assert call("DELETE", path)[0] == 200  # cancelling again changes nothing
    shown = call("GET", path, "agent")[1]
    assert [h["status"] for h in shown["history"]] == ["scheduled", "cancelled"]
    assert shown["error"]["stage"] == "schedule"


def test_a_message_being_sent_cannot_be_cancelled(queue: str) -> None:
    from wacloud.store import messages

    body = call("POST", "/v1/messages", body=text_doc())[1]
    claim = messages.claim(PNID, body["message_id"], {})
    assert claim.token
    status, refused = call("DELETE", f"/v1/numbers/{PNID}/messages/{body['message_id']}")
    assert status == 409 and refused["error"]["code"] == "not_scheduled"


def test_unknown_message_is_404_and_roles_are_checked(queue: str) -> None:
    status, body = call("GET", f"/v1/numbers/{PNID}/messages/mnope", "agent")
    assert status == 404 and body["error"]["code"] == "not_found"
    assert call("DELETE", f"/v1/numbers/{PNID}/messages/mnope")[0] == 404
    assert call("POST", "/v1/messages", "agent", body=text_doc())[0] == 403
    assert call("POST", "/v1/messages", None, body=text_doc())[0] == 401
    assert call("GET", f"/v1/numbers/{PNID}/messages/mnope", "viewer")[0] == 403
