"""The store is the one writer of message state: every change rank-guarded and in history.

The interleaving of issue #11: `release_due` leases a scheduled message and puts it on
the queue; a sender claims it (`sending`) before the release's finish runs. The finish
must not move it back to `queued`, and the history must only move forward.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest

from tests.unit.indexed_table import indexed_state_table
from wacloud.infra.clock import now
from wacloud.models.outbound.submission import Submission
from wacloud.scheduling import release as scheduling
from wacloud.store import messages
from wacloud.store.messages import RANK, ClaimOutcome, State

PNID = "100000000000001"
TO = "15551230000"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch) as name:
        yield name


def _scheduled(key: str, due: float) -> tuple[str, dict[str, Any]]:
    body = json.dumps(
        {
            "phone_number_id": PNID,
            "to": TO,
            "type": "text",
            "text": {"body": "hi"},
            "idempotency_key": key,
        }
    )
    submission = Submission.model_validate_json(body)
    message_id = messages.message_id_for(PNID, key)
    fields = messages.outbound_fields(submission, body)
    assert messages.schedule(PNID, message_id, fields, due, submission.priority)
    return message_id, fields


def _states(message_id: str) -> list[str]:
    item = messages.load(PNID, message_id)
    assert item is not None
    return [entry["state"] for entry in item["history"]]


def _forward_only(states: list[str]) -> bool:
    ranks = [RANK[s] for s in states]
    return all(a < b for a, b in pairwise(ranks))


def test_a_claim_before_the_release_finishes_is_never_moved_back(table: str) -> None:
    message_id, fields = _scheduled("race", now() - 5)
    claims: list[messages.Claim] = []

    def enqueue_then_sender_claims(bodies: list[str]) -> None:
        # Runs after the lease and before the finish: the sender is faster.
        assert [json.loads(b)["idempotency_key"] for b in bodies] == ["race"]
        claims.append(messages.claim(PNID, message_id, fields))

    report = scheduling.release_due(enqueue_then_sender_claims)

    assert report.released == 1
    assert claims[0].outcome is ClaimOutcome.CLAIMED
    item = messages.load(PNID, message_id)
    assert item is not None
    assert item["state"] == State.SENDING and item["state_rank"] == RANK[State.SENDING]
    assert _states(message_id) == ["scheduled", "sending"]
    assert _forward_only(_states(message_id))
    # The release still took it out of the index and dropped its lease.
    for name in ("due_pk", "due_sk", "release_until", "release_token"):
        assert name not in item
    # The claim holder's outcome lands as usual, still forward only.
    assert claims[0].token is not None
    messages.mark_sent(PNID, message_id, claims[0].token, "wamid.1", TO)
    assert _states(message_id) == ["scheduled", "sending", "sent"]


def test_release_then_claim_records_queued_in_history(table: str) -> None:
    message_id, fields = _scheduled("plain", now() - 5)
    got: list[str] = []
    assert scheduling.release_due(got.extend).released == 1
    item = messages.load(PNID, message_id)
    assert item is not None and item["state"] == State.QUEUED and "at_queued" in item
    assert "due_pk" not in item and "release_token" not in item
    assert messages.claim(PNID, message_id, fields).outcome is ClaimOutcome.CLAIMED
    assert _states(message_id) == ["scheduled", "queued", "sending"]
    assert _forward_only(_states(message_id))


def test_a_lost_lease_finishes_nothing(table: str) -> None:
    message_id, _ = _scheduled("lost", now() - 5)
    key = {"pk": messages.message_pk(PNID, message_id), "sk": "#"}
    item = messages.load(PNID, message_id)
    assert item is not None
    first = messages.lease({**key, "due_pk": item["due_pk"]}, "run-1", now(), now() - 1)
    assert first is not None
    # run-1's lease has expired: run-2 takes it over; run-1's finish must do nothing.
    assert messages.lease({**key, "due_pk": item["due_pk"]}, "run-2", now(), now() + 60)
    assert not messages.finish_release(first, "run-1")
    after = messages.load(PNID, message_id)
    assert after is not None and after["state"] == State.SCHEDULED
    assert after["release_token"] == "run-2"
    assert _states(message_id) == ["scheduled"]


def test_cancel_is_rank_guarded_and_in_history(table: str) -> None:
    message_id, fields = _scheduled("cancel", now() + 3600)
    assert messages.cancel_waiting(PNID, message_id, "booking.cancelled")
    item = messages.load(PNID, message_id)
    assert item is not None and item["state"] == State.CANCELLED and "due_pk" not in item
    assert _states(message_id) == ["scheduled", "cancelled"]
    assert not messages.cancel_waiting(PNID, message_id, "again")  # final
    assert messages.claim(PNID, message_id, fields).outcome is ClaimOutcome.FINISHED
    assert _states(message_id) == ["scheduled", "cancelled"]


def test_a_sending_message_is_not_cancelled(table: str) -> None:
    message_id, fields = _scheduled("held", now() - 5)
    assert messages.claim(PNID, message_id, fields).outcome is ClaimOutcome.CLAIMED
    assert not messages.cancel_waiting(PNID, message_id, "too late")
    assert _states(message_id) == ["scheduled", "sending"]


def test_one_rank_table_failed_between_sent_and_delivered() -> None:
    assert RANK[State.SENT] < RANK[State.FAILED] < RANK[State.DELIVERED]


def test_a_faster_status_keeps_its_state_and_sent_keeps_the_wamid(table: str) -> None:
    message_id, fields = _scheduled("fast", now() - 5)
    claim = messages.claim(PNID, message_id, fields)
    assert claim.token is not None
    assert messages.apply_status(PNID, message_id, "delivered", now(), "wamid.F", None)
    messages.mark_sent(PNID, message_id, claim.token, "wamid.F", TO)
    item = messages.load(PNID, message_id)
    assert item is not None and item["state"] == State.DELIVERED and item["wamid"] == "wamid.F"
    assert messages.message_id_for_wamid(PNID, "wamid.F") == message_id
    assert _states(message_id) == ["scheduled", "sending", "delivered"]


def test_sent_writes_the_record_and_the_lookup_together(table: str) -> None:
    message_id, fields = _scheduled("together", now() - 5)
    claim = messages.claim(PNID, message_id, fields)
    assert claim.token is not None
    messages.mark_sent(PNID, message_id, claim.token, "wamid.T", TO)
    item = messages.load(PNID, message_id)
    assert item is not None and item["state"] == State.SENT and item["recipient_wa_id"] == TO
    assert messages.message_id_for_wamid(PNID, "wamid.T") == message_id
