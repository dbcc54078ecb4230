"""Workflows through the local runtime: a business event on the stack's own bus (the
template's EventBridge rule: that bus, a source under the configured prefix) ->
WorkflowTriggerFunction -> a template sent now and
later steps scheduled in the state table -> QueueProcessor releases them when due ->
SenderFunction -> emulator; a cancelling event withdraws what is still scheduled.

The shipped definitions are installed for a business number of each test's own.
Offsets are checked on the scheduled records (their due time); one booking's
day-before reminder is made due a little over a minute after the event (the sender
schedules only what is more than 60 s ahead) and is let fire with the real clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from datetime import time as day_time
from functools import partial
from typing import Any

import pytest

from local.emulator import DEFAULT_WABA_ID as WABA
from local.emulator import Emulator
from local.stack import LocalStack, use_stack_in_this_process
from local.waiting import wait_for
from tests.integration.test_outbound import emulator, fresh_pnid, set_tenant, sync_templates

pytestmark = pytest.mark.integration

TEMPLATES = {
    "booking_confirmation": "Hi {{1}}, your {{2}} is booked for {{3}}.",
    "booking_reminder": "Hi {{1}}, a reminder: {{2}} tomorrow at {{3}}.",
    "booking_follow_up": "Hi {{1}}, how was your {{2}}?",
    "event_reminder": "Hi {{1}}, {{2}} is on {{3}}.",
    "event_day_of": "Hi {{1}}, {{2}} is today at {{3}}.",
    "payment_reminder": "Hi {{1}}, {{2}} is due on {{3}}.",
    "payment_due_today": "Hi {{1}}, {{2}} is due today.",
    "inquiry_acknowledgement": "Hi {{1}}, we received your inquiry {{2}}.",
}
TICKER = "QueueProcessorFunctionEveryMinute"
# The day-before reminder of the booking let fire: due this long after the event, over
# the sender's 60 s scheduling threshold (nearer steps are sent at once).
REMINDER_LEAD_SECONDS = 70
CET = timezone(timedelta(hours=1))


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def templates(session_stack: LocalStack) -> None:
    """The shipped definitions' templates, approved at the emulator and synced."""
    use_stack_in_this_process(session_stack)
    emu = emulator(session_stack)
    have = {t["name"] for t in emu.templates()}
    for name, body in TEMPLATES.items():
        if name not in have:
            emu.add_template(name, category="UTILITY", body=body)
    sync_templates(session_stack)


def tenant(*workflows: str) -> str:
    from wacloud import workflows as wf

    pnid = fresh_pnid()
    set_tenant(pnid, waba_id=WABA)
    assert sorted(wf.install_shipped(pnid, list(workflows))) == sorted(workflows)
    return pnid


def step_message_id(pnid: str, workflow: str, key: str, step: str, wa_id: str) -> str:
    from wacloud.outbound.sender import message_id_for

    return message_id_for(pnid, f"wf:{workflow}:{key}:{step}:{wa_id}")


def record(pnid: str, message_id: str) -> dict[str, Any]:
    from wacloud.store import messages

    item = messages.load(pnid, message_id)
    assert item is not None, message_id
    return item


SOURCE = "business.tests"  # under the template's default BusinessEventSourcePrefix


def publish(stack: LocalStack, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """Put a business event on the stack's bus; the WorkflowTrigger rule must take it."""
    (invocation,) = stack.put_event(
        detail_type, detail, source=SOURCE, bus=stack.business_event_bus
    )
    assert invocation.ok, invocation.error
    return dict(invocation.payload)


def templates_to(emu: Emulator, pnid: str, wa_id: str, name: str) -> list[dict[str, Any]]:
    return [
        m
        for m in emu.sent_messages(phone_number_id=pnid, to=wa_id)
        if m["type"] == "template" and m["payload"]["template"]["name"] == name
    ]


def body_texts(sent: dict[str, Any]) -> list[str]:
    (body,) = sent["payload"]["template"]["components"]
    return [p["text"] for p in body["parameters"]]


def assert_scheduled_at(item: dict[str, Any], due: datetime) -> None:
    assert item["state"] == "scheduled", item.get("history")
    assert float(item["send_at"]) == pytest.approx(due.timestamp(), abs=0.01)
    from wacloud.scheduling.release import due_partitions

    # waiting in the index the QueueProcessor reads (its shard of the DUE partition)
    assert item["due_pk"] in due_partitions()


def assert_cancelled(item: dict[str, Any]) -> None:
    assert item["state"] == "cancelled"
    assert "due_pk" not in item  # out of the index: no run can release it


def sent_record(pnid: str, message_id: str) -> dict[str, Any] | None:
    item = record(pnid, message_id)
    return item if item["state"] in ("sent", "delivered", "read") else None


def customers(count: int, customer: str) -> list[str]:
    return [f"{customer}{i}" for i in range(count)]


# ---------------------------------------------------------------- booking, end to end


@dataclass
class Bookings:
    pnid: str
    kept: str  # customer whose booking stands
    dropped: str  # customer whose booking is cancelled
    starts: datetime
    ends: datetime
    confirmed: dict[str, dict[str, Any]]  # booking id -> WorkflowTrigger report
    cancelled: dict[str, Any]
    early_run: dict[str, Any]


@pytest.fixture(scope="module")
def bookings(session_stack: LocalStack, templates: None) -> Iterator[Bookings]:
    """Two bookings confirmed (their reminders due in REMINDER_LEAD_SECONDS), the second
    cancelled at once. Module scoped, so the wait for the reminder overlaps the other
    tests; the last test lets it fire."""
    stack = session_stack
    use_stack_in_this_process(stack)
    pnid = tenant("booking_confirmation", "follow_up")
    # Warm the functions first, so the margin over the sender's 60 s threshold is not
    # spent on cold starts: an event for a number without workflows starts nothing.
    assert publish(stack, "booking.confirmed", {"phone_number_id": fresh_pnid()})["started"] == []
    assert stack.tickers[TICKER].fire().ok
    kept, dropped = customers(2, f"1777{pnid[-6:]}")
    starts = (
        datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, seconds=REMINDER_LEAD_SECONDS)
    ).astimezone(CET)
    ends = starts + timedelta(hours=1)
    confirmed = {}
    for booking, wa_id, name in (("B-kept", kept, "Ana"), ("B-dropped", dropped, "Rui")):
        detail = {
            "phone_number_id": pnid,
            "booking_id": booking,
            "service": "Haircut",
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "customer": {"wa_id": f"+{wa_id}", "name": name},
        }
        confirmed[booking] = publish(stack, "booking.confirmed", detail)
    cancelled = publish(
        stack, "booking.cancelled", {"phone_number_id": pnid, "booking_id": "B-dropped"}
    )
    early_run = stack.tickers[TICKER].fire()
    assert early_run.ok, early_run.error
    yield Bookings(pnid, kept, dropped, starts, ends, confirmed, cancelled, dict(early_run.payload))


def test_booking_confirmed_sends_now_and_schedules_the_offsets(
    stack: LocalStack, bookings: Bookings
) -> None:
    b = bookings
    for booking in ("B-kept", "B-dropped"):
        report = b.confirmed[booking]
        assert report["started"] == [f"booking_confirmation:{booking}", f"follow_up:{booking}"]
        assert (report["queued"], report["scheduled"], report["notes"]) == (1, 2, [])

    # The confirmation went at once, rendered from the event.
    emu = emulator(stack)
    for wa_id, name in ((b.kept, "Ana"), (b.dropped, "Rui")):
        (sent,) = wait_for(
            "confirmation", partial(templates_to, emu, b.pnid, wa_id, "booking_confirmation")
        )
        assert body_texts(sent) == [name, "Haircut", b.starts.strftime("%d %b %Y %H:%M")]

    # The reminder 1 day before the start; the follow-up 3 days after the end at 10:00 in
    # the event's own UTC offset.
    reminder = record(
        b.pnid, step_message_id(b.pnid, "booking_confirmation", "B-kept", "reminder_1d", b.kept)
    )
    assert_scheduled_at(reminder, b.starts - timedelta(days=1))
    follow_up = record(
        b.pnid, step_message_id(b.pnid, "follow_up", "B-kept", "follow_up_3d", b.kept)
    )
    assert_scheduled_at(
        follow_up,
        datetime.combine((b.ends + timedelta(days=3)).date(), day_time(10, 0), tzinfo=CET),
    )
    assert follow_up["priority"] == 3 and "workflow:follow_up" in follow_up["tags"]
    # A QueueProcessor run before they were due released neither.
    assert "error" not in b.early_run
    assert record(b.pnid, reminder["message_id"])["state"] == "scheduled"
    assert record(b.pnid, follow_up["message_id"])["state"] == "scheduled"


def test_booking_cancelled_withdraws_pending_steps(stack: LocalStack, bookings: Bookings) -> None:
    from wacloud.store.workflows import load_run

    b = bookings
    assert sorted(b.cancelled["cancelled"]) == [
        "booking_confirmation:B-dropped",
        "follow_up:B-dropped",
    ]
    assert b.cancelled["cancelled_messages"] == 2 and b.cancelled["started"] == []
    for workflow, step in (("booking_confirmation", "reminder_1d"), ("follow_up", "follow_up_3d")):
        assert_cancelled(
            record(b.pnid, step_message_id(b.pnid, workflow, "B-dropped", step, b.dropped))
        )
        run = load_run(b.pnid, workflow, "B-dropped")
        assert run is not None and run["status"] == "cancelled"
        assert run["cancel_reason"] == "booking.cancelled"
    # The other booking's run is untouched.
    kept_run = load_run(b.pnid, "booking_confirmation", "B-kept")
    assert kept_run is not None and kept_run["status"] == "active"


# ---------------------------------------------------------------- other shipped workflows


def test_event_reminders_for_every_attendee_then_event_cancelled(
    stack: LocalStack, templates: None, customer: str
) -> None:
    pnid = tenant("event_reminders")
    ana, bo = customers(2, customer)
    starts = datetime.combine(
        (datetime.now(UTC) + timedelta(days=10)).date(),
        day_time(18, 30),
        tzinfo=timezone(timedelta(hours=2)),
    )
    detail = {
        "phone_number_id": pnid,
        "event_id": "E-1",
        "title": "Wine tasting",
        "starts_at": starts.isoformat(),
        "attendees": [{"wa_id": f"+{ana}", "name": "Ana"}, {"wa_id": bo, "name": "Bo"}, "x"],
    }
    first = publish(stack, "event.published", detail)
    assert (first["queued"], first["scheduled"]) == (0, 6)
    expected = {
        "reminder_7d": starts - timedelta(days=7),
        "reminder_1d": starts - timedelta(days=1),
        "day_of": starts.replace(hour=8, minute=0),  # the morning of, in the event's offset
    }
    ids = []
    for wa_id, name in ((ana, "Ana"), (bo, "Bo")):
        for step, due in expected.items():
            item = record(pnid, step_message_id(pnid, "event_reminders", "E-1", step, wa_id))
            assert_scheduled_at(item, due)
            assert item["to"] == wa_id
            submission = json.loads(item["submission"])
            texts = submission["template"]["components"][0]["parameters"]
            third = starts.strftime("%H:%M") if step == "day_of" else starts.strftime("%d %b %Y")
            assert [t["text"] for t in texts] == [name, "Wine tasting", third]
            ids.append(item["message_id"])

    # EventBridge delivers at least once: the same event again adds nothing.
    again = publish(stack, "event.published", detail)
    assert (again["queued"], again["scheduled"]) == (0, 0)

    gone = publish(stack, "event.cancelled", {"phone_number_id": pnid, "event_id": "E-1"})
    assert gone["cancelled_messages"] == 6
    for message_id in ids:
        assert_cancelled(record(pnid, message_id))


def test_payment_reminders_skip_past_steps_and_honour_an_early_cancel(
    stack: LocalStack, templates: None, customer: str
) -> None:
    from wacloud.store import messages

    pnid = tenant("payment_reminder")
    today = datetime.now(UTC).date()
    due_at = datetime.combine(today + timedelta(days=2), day_time(15, 0), tzinfo=UTC)
    detail = {
        "phone_number_id": pnid,
        "invoice_id": "I-1",
        "amount": "EUR 40.00",
        "due_at": due_at.isoformat(),
        "customer": {"wa_id": customer, "name": "Ana"},
    }
    # 3 days before at 09:00 is yesterday morning: long past, so skipped, not sent late.
    report = publish(stack, "payment.due", detail)
    assert (report["queued"], report["scheduled"]) == (0, 1)
    assert report["notes"] == ["payment_reminder.reminder_3d: time passed, skipped"]
    past = step_message_id(pnid, "payment_reminder", "I-1", "reminder_3d", customer)
    assert messages.load(pnid, past) is None
    due_today = step_message_id(pnid, "payment_reminder", "I-1", "due_today", customer)
    assert_scheduled_at(
        record(pnid, due_today), datetime.combine(due_at.date(), day_time(9, 0), tzinfo=UTC)
    )
    paid = publish(stack, "payment.received", {"phone_number_id": pnid, "invoice_id": "I-1"})
    assert paid["cancelled"] == ["payment_reminder:I-1"] and paid["cancelled_messages"] == 1
    assert_cancelled(record(pnid, due_today))

    # A cancellation that overtakes its start event: the late start does nothing.
    early = publish(stack, "payment.cancelled", {"phone_number_id": pnid, "invoice_id": "I-2"})
    assert early["cancelled"] == ["payment_reminder:I-2"] and early["cancelled_messages"] == 0
    late = publish(stack, "payment.due", {**detail, "invoice_id": "I-2"})
    assert (late["queued"], late["scheduled"], late["started"]) == (0, 0, [])
    assert "payment_reminder: I-2 was cancelled before it started" in late["notes"]
    for step in ("reminder_3d", "due_today"):
        assert (
            messages.load(pnid, step_message_id(pnid, "payment_reminder", "I-2", step, customer))
            is None
        )


def test_inquiry_acknowledged_once_at_once(
    stack: LocalStack, templates: None, customer: str
) -> None:
    pnid = tenant("inquiry_acknowledgement")
    detail = {
        "phone_number_id": pnid,
        "inquiry_id": "Q-77",
        "customer": {"wa_id": customer, "name": "Ana"},
    }
    reports = [publish(stack, "inquiry.received", detail) for _ in range(2)]
    assert [r["queued"] for r in reports] == [1, 1]  # the sender sends the copy once
    emu = emulator(stack)
    (sent,) = wait_for(
        "acknowledgement",
        lambda: templates_to(emu, pnid, customer, "inquiry_acknowledgement"),
    )
    assert body_texts(sent) == ["Ana", "Q-77"]
    message_id = step_message_id(
        pnid, "inquiry_acknowledgement", "Q-77", "acknowledgement", customer
    )
    wait_for("sent", lambda: sent_record(pnid, message_id))
    time.sleep(1.0)
    assert len(templates_to(emu, pnid, customer, "inquiry_acknowledgement")) == 1
    # An event for a number without definitions starts nothing.
    other = publish(stack, "inquiry.received", {**detail, "phone_number_id": fresh_pnid()})
    assert other["started"] == [] and other["queued"] == 0


# ---------------------------------------------------------------- the reminder fires


def test_reminder_fires_when_due_and_the_cancelled_one_never(
    stack: LocalStack, bookings: Bookings
) -> None:
    b = bookings
    emu = emulator(stack)
    due = (b.starts - timedelta(days=1)).timestamp()
    kept_id = step_message_id(b.pnid, "booking_confirmation", "B-kept", "reminder_1d", b.kept)
    # Released by the first run after its due time, not before.
    while time.time() < due - 3:
        assert record(b.pnid, kept_id)["state"] == "scheduled"
        time.sleep(min(5.0, max(0.1, due - 3 - time.time())))
    time.sleep(max(0.0, due - time.time()) + 0.5)
    run = stack.tickers[TICKER].fire()
    assert run.ok, run.error
    assert run.payload["released"] >= 1
    (sent,) = wait_for(
        "the reminder at the emulator",
        lambda: templates_to(emu, b.pnid, b.kept, "booking_reminder"),
    )
    assert sent["time"] >= due
    assert body_texts(sent) == ["Ana", "Haircut", b.starts.strftime("%H:%M")]
    item = wait_for("reminder recorded sent", lambda: sent_record(b.pnid, kept_id))
    # `queued` (the release's finish) is in history unless the sender claimed it first.
    states = [h["state"] for h in item["history"] if h["state"] != "queued"]
    assert states[:2] == ["scheduled", "sending"]
    assert float(item["at_queued"]) >= due  # released by the run after it fell due

    # The cancelled booking's reminder was due at the same moment and never went.
    again = stack.tickers[TICKER].fire()
    assert again.ok, again.error
    time.sleep(2.0)
    assert templates_to(emu, b.pnid, b.dropped, "booking_reminder") == []
    dropped_id = step_message_id(
        b.pnid, "booking_confirmation", "B-dropped", "reminder_1d", b.dropped
    )
    assert_cancelled(record(b.pnid, dropped_id))
    # The follow-up, days away, is still waiting.
    follow_up = step_message_id(b.pnid, "follow_up", "B-kept", "follow_up_3d", b.kept)
    assert record(b.pnid, follow_up)["state"] == "scheduled"


# ---------------------------------------------------------------- who may publish, failures


def test_only_the_stacks_bus_and_source_reach_the_workflows(
    stack: LocalStack, templates: None, customer: str
) -> None:
    """Anything on the default bus, or on our bus from a foreign source, is matched by
    no rule: it starts nothing and messages nobody."""
    from wacloud.store import messages

    pnid = tenant("inquiry_acknowledgement")
    detail = {"phone_number_id": pnid, "inquiry_id": "Q-1", "customer": {"wa_id": customer}}
    assert stack.put_event("inquiry.received", detail, source=SOURCE) == []  # default bus
    assert stack.put_event("inquiry.received", detail, source=SOURCE, bus="default") == []
    for foreign in ("com.attacker", "aws.events", "businessX.tests", "tests.business."):
        assert (
            stack.put_event(
                "inquiry.received", detail, source=foreign, bus=stack.business_event_bus
            )
            == []
        ), foreign
    message_id = step_message_id(
        pnid, "inquiry_acknowledgement", "Q-1", "acknowledgement", customer
    )
    assert messages.load(pnid, message_id) is None
    time.sleep(1.0)
    assert templates_to(emulator(stack), pnid, customer, "inquiry_acknowledgement") == []


def _failed_events(stack: LocalStack, event_id: str) -> list[dict[str, Any]]:
    """Lambda's invocation records for `event_id` in the on-failure destination."""
    sqs = stack.client("sqs")
    url = stack.outputs["WorkflowFailedEventQueueUrl"]
    found = []
    for message in sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", []):
        record = json.loads(message["Body"])
        if record["requestPayload"].get("id") == event_id:
            found.append(record)
    return found


def test_a_failing_business_event_is_kept_in_the_on_failure_destination(
    stack: LocalStack, customer: str
) -> None:
    """An event the function cannot process (here: no tenant) is retried as Lambda
    retries an asynchronous invocation, then kept, whole, with the error."""
    detail = {"booking_id": "B-9", "customer": {"wa_id": customer, "name": "MARKER-TEXT-7731"}}
    event_id = f"bad-{customer}"
    (outcome,) = stack.put_event(
        "booking.confirmed",
        detail,
        source=SOURCE,
        bus=stack.business_event_bus,
        event_id=event_id,
    )
    assert not outcome.ok and outcome.error is not None
    assert outcome.error.startswith("InvalidEventError: detail.phone_number_id")
    assert customer not in outcome.error and "MARKER-TEXT-7731" not in outcome.error
    (record,) = wait_for("the kept event", lambda: _failed_events(stack, event_id))
    assert record["requestPayload"]["detail"] == detail  # the event itself, to replay
    assert record["requestPayload"]["source"] == SOURCE
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # 1 + MaximumRetryAttempts
    assert record["responsePayload"]["errorType"] == "InvalidEventError"


def test_a_step_that_fails_to_render_leaves_a_trace(
    stack: LocalStack, templates: None, customer: str
) -> None:
    from wacloud.workflows import failures_for

    pnid = tenant("booking_confirmation")
    starts = datetime.now(UTC) + timedelta(days=5)
    detail = {
        "phone_number_id": pnid,
        "booking_id": "B-no-name",
        "starts_at": starts.isoformat(),
        "customer": {"wa_id": customer},  # no name, no service: nothing renders
    }
    report = publish(stack, "booking.confirmed", detail)
    assert (report["queued"], report["scheduled"], report["failed_steps"]) == (0, 0, 2)
    kept = {f["step_id"]: f for f in failures_for(pnid)}
    assert set(kept) == {"confirmation", "reminder_1d"}
    for failure in kept.values():
        assert failure["error_type"] == "RenderError"
        assert failure["reason"].startswith("no value for {")
        assert customer not in json.dumps(failure, default=str)
        assert failure["recipient"].endswith(customer[-2:])
