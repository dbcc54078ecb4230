"""Workflow definitions: shipped ones load, offsets compute, recipients normalise."""

from __future__ import annotations

import pytest

from wacloud.workflows.catalog import shipped
from wacloud.workflows.model import Step, recipients, step_time


def test_shipped_definitions_load() -> None:
    assert set(shipped()) >= {
        "booking_confirmation",
        "inquiry_acknowledgement",
        "payment_reminder",
        "follow_up",
        "event_reminders",
    }


def test_offsets_and_time_of_day() -> None:
    detail = {"starts_at": "2026-12-10T18:00:00+01:00"}
    before = Step.model_validate(
        {"id": "a", "template": "t", "at": {"from": "starts_at", "offset": "-7d"}}
    )
    day_of = Step.model_validate(
        {
            "id": "b",
            "template": "t",
            "at": {"from": "starts_at", "offset": "0d", "at_time": "08:00"},
        }
    )
    after = Step.model_validate(
        {"id": "c", "template": "t", "at": {"from": "starts_at", "offset": "+3d"}}
    )
    assert step_time(before, detail).isoformat() == "2026-12-03T18:00:00+01:00"  # type: ignore[union-attr]
    assert step_time(day_of, detail).isoformat() == "2026-12-10T08:00:00+01:00"  # type: ignore[union-attr]
    assert step_time(after, detail).isoformat() == "2026-12-13T18:00:00+01:00"  # type: ignore[union-attr]
    assert step_time(Step.model_validate({"id": "d", "template": "t"}), detail) is None


def test_recipients_single_or_list() -> None:
    workflow = shipped()["event_reminders"]
    people = recipients(workflow, {"attendees": [{"wa_id": "+1 555 000 1111"}, "15550002222", "x"]})
    assert [p["wa_id"] for p in people] == ["15550001111", "15550002222"]


def test_a_cancel_reaches_a_step_released_or_deferred_but_not_one_being_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step released to the queue (or parked by a deferral) before the cancelling
    event must still never go out; one a send attempt holds may already be at Meta."""
    from tests.unit.conftest import mocked_state_table
    from wacloud.scheduling.release import cancel_scheduled
    from wacloud.store import messages
    from wacloud.store.messages import ClaimOutcome, State

    pnid = "100000000000001"
    with mocked_state_table(monkeypatch):
        for message_id, state in (("q", State.QUEUED), ("d", State.DEFERRED)):
            messages.record_new(pnid, message_id, state, {"to": "1555"})
            assert cancel_scheduled(pnid, message_id, "booking.cancelled")
            claim = messages.claim(pnid, message_id, {})
            assert claim.outcome is ClaimOutcome.FINISHED
            assert claim.item["state"] == "cancelled"
        messages.record_new(pnid, "s", State.QUEUED, {"to": "1555"})
        assert messages.claim(pnid, "s", {}).outcome is ClaimOutcome.CLAIMED
        assert not cancel_scheduled(pnid, "s", "booking.cancelled")
        assert (messages.load(pnid, "s") or {})["state"] == "sending"
