"""Running workflows for one EventBridge event (WorkflowTrigger).

Start: for each recipient and step, a step due now is queued for the sender; a later
step becomes a `scheduled` message record in the DUE index (what the sender itself
does for a future `send_at`), released by the QueueProcessor when due. A step whose
time passed more than an hour ago is skipped: nobody wants a "7 days before"
reminder for a booking made yesterday.
Cancel: the run is marked cancelled and each of its still-scheduled messages moves to
`cancelled`; a message already released is past recall.

EventBridge delivers at least once. Every step's message id derives from
(workflow, key, step, recipient), so a repeated event schedules and sends nothing new.

Nothing is dropped silently (failures.py): an event of a bad shape raises, so it ends
in the function's on-failure destination; a workflow the event lacks data for, and a
step that fails to render or validate, leave a failure record, a log line and a count
in the report (metrics), while the rest of the event still runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wacloud.infra.clock import iso, now
from wacloud.store import messages
from wacloud.store import workflows as store
from wacloud.store.messages import SCHEDULE_AHEAD_SECONDS, message_id_for
from wacloud.templates import RenderError, lookup, template_message

from . import failures
from .failures import InvalidEventError
from .model import recipients, step_time

if TYPE_CHECKING:
    from wacloud.models.outbound.submission import Submission
    from wacloud.models.workflow import Workflow

STALE_STEP_SECONDS = 3600
MAX_RECIPIENTS_PER_EVENT = 500  # more than this is a campaign, not a workflow

Submit = Callable[[list[dict[str, Any]]], None]


@dataclass
class EventReport:
    started: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    queued: int = 0
    scheduled: int = 0
    cancelled_messages: int = 0
    failed_steps: int = 0  # a step that failed to render or validate, per recipient
    incomplete: int = 0  # a workflow the event lacked its key or recipients for
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_envelope(event: Any) -> tuple[str, dict[str, Any], str]:
    """`(detail_type, detail, phone_number_id)`, or InvalidEventError naming the field."""
    if not isinstance(event, dict):
        raise InvalidEventError("the event is not an object")
    detail_type = event.get("detail-type")
    if not isinstance(detail_type, str) or not detail_type:
        raise InvalidEventError("the event has no detail-type")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEventError("the event's detail is not an object")
    pnid = detail.get("phone_number_id")
    if not isinstance(pnid, str | int) or not str(pnid).isdigit():
        raise InvalidEventError("detail.phone_number_id is missing or not digits")
    return detail_type, detail, str(pnid)


def handle_event(event: dict[str, Any], submit: Submit) -> EventReport:
    """Run the tenant's workflows for one event; InvalidEventError if it has a bad shape."""
    detail_type, detail, pnid = check_envelope(event)
    report = EventReport()
    for workflow in store.tenant_workflows(pnid):
        if not workflow.enabled:
            continue
        key = lookup(detail, workflow.key)
        if key is None:
            if detail_type in (workflow.on, *workflow.cancel_on):
                _incomplete(pnid, workflow, event, f"no {workflow.key} in detail", report)
            continue
        if detail_type in workflow.cancel_on:
            _cancel(pnid, workflow, str(key), detail_type, report)
        if detail_type == workflow.on:
            _start(pnid, workflow, str(key), detail, event, submit, report)
    return report


def _incomplete(
    pnid: str, workflow: Workflow, event: dict[str, Any], reason: str, report: EventReport
) -> None:
    """The event starts or cancels this workflow but lacks what it needs: kept."""
    failures.record(
        pnid,
        workflow_id=workflow.id,
        event=event,
        description={"error_type": "IncompleteEvent", "reason": reason},
    )
    report.incomplete += 1
    report.notes.append(f"{workflow.id}: {reason}")


def _start(
    pnid: str,
    workflow: Workflow,
    key: str,
    detail: dict[str, Any],
    event: dict[str, Any],
    submit: Submit,
    report: EventReport,
) -> None:
    # The outbound models load with the first workflow that starts, not with the
    # module: an event that only cancels, or matches no workflow, needs none of them.
    from wacloud.models.outbound.submission import Submission

    at = now()
    due_now: list[dict[str, Any]] = []
    later: list[tuple[Submission, dict[str, Any], float, str]] = []
    people = recipients(workflow, detail)[:MAX_RECIPIENTS_PER_EVENT]
    if not people:
        _incomplete(pnid, workflow, event, f"no recipient at {workflow.recipient}", report)
        return
    for person in people:
        data = {**detail, "recipient": person}
        for step in workflow.steps:
            idempotency_key = f"wf:{workflow.id}:{key}:{step.id}:{person['wa_id']}"
            message_id = message_id_for(pnid, idempotency_key)
            try:
                when = step_time(step, data)
                document: dict[str, Any] = {
                    "phone_number_id": pnid,
                    "to": f"+{person['wa_id']}",
                    **template_message(step.template, step.language, step.variables, data),
                    "idempotency_key": idempotency_key,
                    "priority": step.priority,
                    "tags": ["workflow", f"workflow:{workflow.id}"],
                }
                due = when.timestamp() if when else at
                if due < at - STALE_STEP_SECONDS:
                    report.notes.append(f"{workflow.id}.{step.id}: time passed, skipped")
                    continue
                if due > at + SCHEDULE_AHEAD_SECONDS:
                    document["send_at"] = iso(due).replace("Z", "+00:00")
                # What the sender would refuse is refused here, where it can be traced
                # to the workflow, step and event.
                submission = Submission.model_validate(document)
            except (RenderError, ValueError) as exc:  # pydantic's ValidationError included
                description = failures.describe(exc)
                failures.record(
                    pnid,
                    workflow_id=workflow.id,
                    event=event,
                    description=description,
                    step_id=step.id,
                    wa_id=person["wa_id"],
                    message_id=message_id,
                )
                report.failed_steps += 1
                report.notes.append(f"{workflow.id}.{step.id}: {failures.summary(description)}")
                continue
            if "send_at" in document:
                later.append((submission, document, due, message_id))
            else:
                due_now.append(document)
    # Record the run (with the ids it will schedule) before scheduling, so a cancel
    # that lands in between still finds every message.
    event_id = str(event.get("id", ""))
    if not store.start_run(pnid, workflow.id, key, [m for *_, m in later], event_id):
        report.notes.append(f"{workflow.id}: {key} was cancelled before it started")
        return
    for submission, document, due, message_id in later:
        if _schedule(submission, document, due, message_id):
            report.scheduled += 1
    if due_now:
        submit(due_now)
        report.queued += len(due_now)
    run = store.load_run(pnid, workflow.id, key)
    if run and run.get("status") == "cancelled":  # cancelled while we were scheduling
        for *_, message_id in later:
            messages.cancel_waiting(pnid, message_id, "workflow cancelled")
    report.started.append(f"{workflow.id}:{key}")


def _schedule(
    submission: Submission, document: dict[str, Any], due: float, message_id: str
) -> bool:
    """Create the scheduled record the sender would create for a future send_at (the
    store builds it, the same for both)."""
    body = json.dumps(document, separators=(",", ":"))
    fields = messages.outbound_fields(submission, body)
    return messages.schedule(
        submission.phone_number_id, message_id, fields, due, submission.priority
    )


def _cancel(pnid: str, workflow: Workflow, key: str, reason: str, report: EventReport) -> None:
    message_ids = store.cancel_run(pnid, workflow.id, key, reason)
    for message_id in message_ids:
        if messages.cancel_waiting(pnid, message_id, f"cancelled by {reason}"):
            report.cancelled_messages += 1
    report.cancelled.append(f"{workflow.id}:{key}")
