"""Workflow definitions: shipped ones load, offsets compute, recipients normalise."""

from __future__ import annotations

from wacloud.workflows.model import Step, recipients, step_time
from wacloud.workflows.store import shipped


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
