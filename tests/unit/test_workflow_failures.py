"""A business event never fails silently (wacloud/workflows/failures.py): a bad shape
raises (so Lambda keeps the event in its on-failure destination), a step that fails
to render or validate and a workflow the event lacks data for leave a failure record,
a log line and a count; none of them carries the customer's number or any text."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.conftest import mocked_state_table

# Part of the bad-input suite (README, "Security"): `pytest -m bad_input`.
pytestmark = pytest.mark.bad_input

PNID = "100000000000077"
PHONE = "15550009999"
MARKER = "MARKER-TEXT-7731"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in self.records)


@pytest.fixture
def logs() -> Iterator[Records]:
    from wacloud.workflows import failures

    handler = Records()
    failures.logger._logger.addHandler(handler)
    yield handler
    failures.logger._logger.removeHandler(handler)


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_state_table(monkeypatch):
        yield


def _workflow(**overrides: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "id": "booking",
        "on": "booking.confirmed",
        "cancel_on": ["booking.cancelled"],
        "key": "booking_id",
        "steps": [
            {
                "id": "confirmation",
                "template": "booking_confirmation",
                "variables": {"body": ["{customer.name}", "{service}"]},
            },
            {
                "id": "reminder",
                "template": "booking_reminder",
                "at": {"from": "starts_at", "offset": "-1d"},
                "variables": {"body": ["{customer.name}"]},
            },
        ],
    }
    definition.update(overrides)
    return definition


def _event(
    detail: dict[str, Any], detail_type: str = "booking.confirmed", event_id: str = "event-1"
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "business.tests",
        "detail": detail,
    }


def _detail(**overrides: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "phone_number_id": PNID,
        "booking_id": "B-1",
        "service": "Haircut",
        "starts_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "customer": {"wa_id": PHONE, "name": "Ana"},
    }
    detail.update(overrides)
    return detail


def _run(event: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    from wacloud.workflows import handle_event

    submitted: list[dict[str, Any]] = []
    report = handle_event(event, submitted.extend)
    return report, submitted


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert PHONE not in text and MARKER not in text, text


def test_a_step_that_fails_to_render_is_kept_and_the_others_still_run(
    state: None, logs: Records
) -> None:
    from wacloud import workflows
    from wacloud.outbound.sender import message_id_for

    workflows.install(PNID, _workflow())
    # No name to render: the confirmation and the reminder both need it.
    report, submitted = _run(_event(_detail(customer={"wa_id": PHONE})))
    assert (report.failed_steps, report.queued, report.scheduled) == (2, 0, 0)
    assert submitted == []
    kept = {f["step_id"]: f for f in workflows.failures_for(PNID)}
    assert set(kept) == {"confirmation", "reminder"}
    failure = kept["confirmation"]
    assert failure["error_type"] == "RenderError"
    assert failure["reason"] == "no value for {customer.name}"
    assert failure["recipient"] == "15*******99"  # masked, for correlation
    assert failure["message_id"] == message_id_for(PNID, f"wf:booking:B-1:confirmation:{PHONE}")
    assert (failure["event_id"], failure["detail_type"]) == ("event-1", "booking.confirmed")
    assert "workflow step failed" in logs.text()
    _assert_clean(str(workflows.failures_for(PNID)), logs.text(), str(report.as_dict()))

    # The same event redelivered rewrites its records rather than adding more.
    _run(_event(_detail(customer={"wa_id": PHONE})))
    assert len(workflows.failures_for(PNID)) == 2


def test_a_bad_time_is_kept_without_the_value(state: None, logs: Records) -> None:
    from wacloud import workflows

    workflows.install(PNID, _workflow())
    report, submitted = _run(_event(_detail(starts_at=f"{MARKER} {PHONE}")))
    # The confirmation (now) went; the reminder could not be timed.
    assert (report.queued, report.failed_steps) == (1, 1)
    assert len(submitted) == 1
    (failure,) = workflows.failures_for(PNID)
    assert (failure["step_id"], failure["reason"]) == ("reminder", "not an ISO-8601 time")
    _assert_clean(str(failure), logs.text(), str(report.as_dict()))


def test_a_step_that_fails_validation_is_kept_with_locations_and_types_only(
    state: None, logs: Records
) -> None:
    from wacloud import workflows

    workflows.install(PNID, _workflow())
    # Renders, but the body parameter is longer than any template parameter may be.
    too_long = f"{MARKER} {PHONE} " * 3000
    report, submitted = _run(_event(_detail(service=too_long)))
    assert report.failed_steps == 1 and report.scheduled == 1 and submitted == []
    (failure,) = workflows.failures_for(PNID)
    assert failure["step_id"] == "confirmation"
    assert failure["error_type"] == "ValidationError"
    assert failure["errors"] and all(set(e) == {"loc", "type"} for e in failure["errors"])
    assert any("template" in e["loc"] for e in failure["errors"])
    assert "invalid template" in " ".join(report.notes)
    _assert_clean(str(failure), logs.text(), str(report.as_dict()))


def test_an_event_missing_the_key_or_recipients_is_kept(state: None, logs: Records) -> None:
    from wacloud import workflows

    workflows.install(PNID, _workflow())
    no_key = _detail()
    del no_key["booking_id"]
    report, _ = _run(_event(no_key))
    assert report.incomplete == 1 and report.started == []
    no_one, _ = _run(_event(_detail(customer={"name": MARKER}), event_id="event-2"))
    assert no_one.incomplete == 1
    cancel_without_key, _ = _run(
        _event({"phone_number_id": PNID}, "booking.cancelled", event_id="event-3")
    )
    assert cancel_without_key.incomplete == 1
    reasons = sorted(f["reason"] for f in workflows.failures_for(PNID))
    assert reasons == [
        "no booking_id in detail",
        "no booking_id in detail",
        "no recipient at customer",
    ]
    assert all(f["error_type"] == "IncompleteEvent" for f in workflows.failures_for(PNID))
    _assert_clean(str(workflows.failures_for(PNID)), logs.text())


@pytest.mark.parametrize(
    "event",
    [
        [PHONE, MARKER],
        {"id": "x", "detail": {"phone_number_id": PNID}},
        {"detail-type": "booking.confirmed", "detail": f"{MARKER} {PHONE}"},
        {"detail-type": "booking.confirmed", "detail": {"customer": PHONE, "note": MARKER}},
        {"detail-type": "booking.confirmed", "detail": {"phone_number_id": f"+{PHONE} {MARKER}"}},
        {"detail-type": "booking.confirmed", "detail": {"phone_number_id": ["1"]}},
    ],
)
def test_an_event_of_a_bad_shape_raises_naming_the_field_not_the_value(
    state: None, event: Any
) -> None:
    from wacloud.workflows import InvalidEventError

    with pytest.raises(InvalidEventError) as raised:
        _run(event)
    _assert_clean(str(raised.value), repr(raised.value))


def test_the_handler_counts_and_reraises_a_bad_shape(
    state: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Lambda sees the exception (so the event is retried, then kept); the metric
    and the log line say what was refused, without the event's values."""
    import importlib
    import sys
    from pathlib import Path

    from local.template import REPO_ROOT
    from wacloud.workflows import InvalidEventError

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wacloud")
    monkeypatch.syspath_prepend(str(Path(REPO_ROOT, "functions", "workflow_trigger")))
    sys.modules.pop("app", None)
    app = importlib.import_module("app")
    try:

        class Context:
            function_name = "WorkflowTrigger"
            memory_limit_in_mb = 512
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:wt"
            aws_request_id = "req"

        with pytest.raises(InvalidEventError):
            app.lambda_handler(
                {"id": "e", "detail-type": "booking.confirmed", "detail": {"to": PHONE}},
                Context(),
            )
    finally:
        sys.modules.pop("app", None)
    # Powertools' Logger is shared by service name: when another test made it first, its
    # handler writes to that test's stdout, so the line is read from the log records too.
    out = capsys.readouterr().out + caplog.text
    assert "WorkflowEventInvalid" in out and "business event refused" in out
    assert PHONE not in out
