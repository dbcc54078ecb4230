"""The operator API keeps customers' data out of its logs and error bodies (marker values).

Refusals are where input leaks: a validation error that quotes the value, a 404 that names
the number asked for, an exception message logged whole. Each request here carries marker
values (a phone number, a text) and fails in a different way; neither the answers nor the
OperatorApiFunction's log may contain them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.bad_input]

PHONE = "15559876543210"
TEXT = "MARKER-secret-text-7f3a"


def test_refusals_carry_no_phone_number_or_text(stack: LocalStack, api: Any) -> None:
    admin, agent = api("admin"), api("agent")
    answers = [
        # a wrong type where the text is (validation quotes inputs by default)
        admin.post(
            "/v1/messages",
            json={"phone_number_id": PNID, "to": PHONE, "type": "text", "text": {"body": [TEXT]}},
        ),
        # an unknown field whose value is the marker
        admin.post(
            "/v1/messages",
            json={
                "phone_number_id": PNID,
                "to": PHONE,
                "type": "text",
                "text": {"body": "x"},
                "surprise": TEXT,
            },
        ),
        # records that are not there, keyed by the marker number
        agent.get(f"/v1/numbers/{PNID}/contacts/{PHONE}"),
        agent.get(f"/v1/numbers/{PNID}/conversations/{PHONE}"),
        admin.patch(f"/v1/numbers/{PNID}/contacts/{PHONE}", json={"tags_add": [TEXT]}),
        # an agent's reply to a customer whose window is closed
        agent.post(
            f"/v1/numbers/{PNID}/conversations/{PHONE}/reply",
            json={"text": TEXT, "idempotency_key": "privacy-1"},
        ),
        # a canned response that is not there, with the marker as a parameter
        agent.post(
            f"/v1/numbers/{PNID}/conversations/{PHONE}/reply",
            json={"canned": "nope", "params": {"name": TEXT}, "idempotency_key": "privacy-2"},
        ),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["error"]["code"]
        assert PHONE not in answer.text and TEXT not in answer.text, answer.text
    log = Path(stack.config.log_dir or ".") / "OperatorApiFunction.log"
    text = log.read_text() if log.exists() else ""
    assert "request" in text  # the function did log these requests
    assert PHONE not in text and TEXT not in text
