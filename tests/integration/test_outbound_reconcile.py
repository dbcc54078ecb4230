"""A message Meta may have is never sent twice; one that never reached Meta goes soon.

Through the local stack: the emulator accepts a message but holds its answer past the
sender's read timeout; recording `sent` fails after Meta accepted; the status webhook
that would settle either is held in the inbound queue's retries well past the reconcile
grace. Faults are switched by marker files (tests/integration/faults.py), so each lasts
exactly as long as the test wants. Every scenario asserts the emulator received the
message exactly once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.stack import LocalStack, use_stack_in_this_process
from local.waiting import wait_for
from tests.integration.conftest import stack_config
from tests.integration.test_outbound import (
    emulator,
    fresh_pnid,
    history_states,
    record,
    sends_of,
    submit,
    template_doc,
    wait_state,
)

pytestmark = [pytest.mark.integration, pytest.mark.serial]

TEMPLATE = "reconcile_check"
GRACE = 6
HOOKS = (
    "tests.integration.faults:short_graph_timeout",
    "tests.integration.faults:install_reconcile_faults",
)


@pytest.fixture(scope="module")
def marks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reconcile-marks")


@pytest.fixture(scope="module")
def rstack(tmp_path_factory: pytest.TempPathFactory, marks: Path) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("reconcile-stack")
    config = stack_config(
        tmp,
        environment={
            "*": {
                "SEND_RECONCILE_GRACE_SECONDS": str(GRACE),
                "WACLOUD_TEST_MARKERS": str(marks),
            },
            "InboundProcessorFunction": {"RESPONDER": "none"},
        },
        preload={
            "SenderFunction": HOOKS,
            "InboundProcessorFunction": ("tests.integration.faults:hold_statuses",),
        },
        max_concurrency=1,
        # A held status comes back every 2 s. Set before the pollers start: set on the
        # running stack, a long poll already waiting keeps the template's 180 s.
        queue_attributes={
            "InboundQueue": {"VisibilityTimeout": "2"},
            "OutboundQueue": {"VisibilityTimeout": "8"},
        },
    )
    with LocalStack(config) as running:
        sqs = running.client("sqs")
        inbound = running.outputs["InboundQueueUrl"]
        redrive = json.loads(
            sqs.get_queue_attributes(QueueUrl=inbound, AttributeNames=["RedrivePolicy"])[
                "Attributes"
            ]["RedrivePolicy"]
        )
        redrive["maxReceiveCount"] = 1000
        # ... and never reaches the DLQ while held (the DLQ's ARN is known only now; the
        # receive count is checked at each receive, so a running stack may change it).
        sqs.set_queue_attributes(
            QueueUrl=inbound, Attributes={"RedrivePolicy": json.dumps(redrive)}
        )
        emulator(running).add_template(TEMPLATE, body="Code {{1}}")
        use_stack_in_this_process(running)
        yield running


def message_id_of(pnid: str, key: str) -> str:
    from wacloud.outbound.sender import message_id_for

    return message_id_for(pnid, key)


def past_grace_twice(pnid: str, message_id: str) -> None:
    """Wait until the claim is older than two graces: the reconcile has had its turns."""
    from wacloud.infra.clock import now

    def old_enough() -> bool:
        item = record(pnid, message_id) or {}
        return bool(item.get("claimed_at")) and now() - float(item["claimed_at"]) > 2 * GRACE + 4

    wait_for(f"{message_id} claim past two graces", old_enough, 120)


def test_accepted_but_answer_timed_out_while_status_is_held(
    rstack: LocalStack, marks: Path
) -> None:
    pnid = fresh_pnid()
    key = uuid.uuid4().hex
    message_id = message_id_of(pnid, key)
    (marks / f"hold-{message_id}").touch()
    emulator(rstack).faults.add_slow_response(
        times=1, hold_seconds=4.0, path_contains=f"/{pnid}/messages"
    )
    to = "1555" + str(uuid.uuid4().int)[:7]
    assert submit(template_doc(pnid, to, TEMPLATE, "1234", idempotency_key=key)) == message_id
    wait_for("the send reached the emulator", lambda: sends_of(rstack, message_id), 60)
    past_grace_twice(pnid, message_id)
    item = record(pnid, message_id) or {}
    # The status is still held in our inbound queue's retries: nothing was re-sent.
    assert item["state"] == "sending" and "outcome_unknown_at" in item
    assert len(sends_of(rstack, message_id)) == 1
    (marks / f"hold-{message_id}").unlink()
    done = wait_state(pnid, message_id, timeout=90)
    sends = sends_of(rstack, message_id)
    assert len(sends) == 1 and done["wamid"] == sends[0]["wamid"]
    assert history_states(done).count("sending") == 1


def test_accepted_but_not_recorded_is_settled_without_a_second_send(
    rstack: LocalStack, marks: Path
) -> None:
    pnid = fresh_pnid()
    key = uuid.uuid4().hex
    message_id = message_id_of(pnid, key)
    (marks / f"hold-{message_id}").touch()
    (marks / f"fail-mark-sent-{message_id}").touch()
    to = "1555" + str(uuid.uuid4().int)[:7]
    submit(template_doc(pnid, to, TEMPLATE, "1234", idempotency_key=key))
    wait_for("the send reached the emulator", lambda: sends_of(rstack, message_id), 60)
    (marks / f"fail-mark-sent-{message_id}").unlink()  # the table recovers
    # The status is still held: the kept acceptance alone settles the record.
    done = wait_state(pnid, message_id, timeout=90)
    sends = sends_of(rstack, message_id)
    assert len(sends) == 1 and done["state"] == "sent" and done["wamid"] == sends[0]["wamid"]
    (marks / f"hold-{message_id}").unlink()
    wait_state(pnid, message_id, ("delivered", "read"), timeout=60)
    assert len(sends_of(rstack, message_id)) == 1


def test_connect_error_is_retried_quickly_and_sent_once(rstack: LocalStack, marks: Path) -> None:
    pnid = fresh_pnid()
    key = uuid.uuid4().hex
    message_id = message_id_of(pnid, key)
    (marks / f"refuse-{message_id}").touch()
    to = "1555" + str(uuid.uuid4().int)[:7]
    submit(template_doc(pnid, to, TEMPLATE, "1234", idempotency_key=key))
    done = wait_state(pnid, message_id, timeout=60)
    assert len(sends_of(rstack, message_id)) == 1
    assert "retrying" in history_states(done)
    assert done["last_error"]["stage"] == "transport"
    # Retried on backoff, not after the reconcile grace (no claim was left behind).
    assert history_states(done).count("sending") == 2
