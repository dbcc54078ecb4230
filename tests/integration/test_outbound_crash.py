"""At-most-once under crashes and timeouts, on a stack with fault hooks in the sender.

The SenderFunction's worker process is preloaded with tests/integration/faults.py, which
`os._exit`s at a chosen point for a chosen message (once), and shortens the Graph read
timeout. The outbound queue's visibility timeout is cut to 8 s so a batch lost with its
process comes back quickly (a deployer setting; the code does not depend on it). It is
set when the stack is built, before its pollers start (`queue_attributes`): changed on
the running stack, it missed a receive already waiting, which could still hide the
first submission for the template's 180 s; when that one crashed after its claim, it
stayed `sending` for 180 s, the whole of the test's wait (1 run in ~12).

The inbound queue's is cut to 35 s for the same reason. A stale claim is only sent again
once our inbound pipeline has nothing left to process (outbound/reconcile.py): an
inbound item waiting out a failed or timed-out attempt counts, since the status that
settles the claim may be that item. With the template's 180 s, one such retry anywhere
in the pipeline (a transient error, an invocation past its timeout on a loaded machine,
a receive whose answer was lost) held every reconcile for 180 s, the whole of a test's
wait, and the crash-after-claim message stayed `sending` untouched (attempts 1): the
reconcile was right to wait; the test's clock was no longer than one inbound retry
(tests/unit/test_reconcile_inbound_retry.py). 35 s is above the InboundProcessor's 30 s
timeout, so an invocation still at work is never redelivered. So that this is not left
to chance, the first status webhook the InboundProcessor applies fails once (a preload
hook): every run recovers from the crashes with an inbound item in its retry, and the
sent-but-unrecorded message is still never sent twice while its status waits.

All scenarios are queued at once by a module fixture and checked by one test each, so
their waits overlap.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.stack import LocalStack, use_stack_in_this_process
from tests.integration.conftest import stack_config
from tests.integration.faults import CRASH_AFTER_CLAIM, CRASH_AFTER_SEND
from tests.integration.test_outbound import (
    emulator,
    fresh_pnid,
    history_states,
    sends_of,
    submit,
    template_doc,
    wait_state,
)

# Crash recovery waits on real timeouts: run alone, not beside another stack.
pytestmark = [pytest.mark.integration, pytest.mark.serial]

TEMPLATE = "crash_check"
# Longer than the shared stack's 3 s: a freshly crashed environment cold-starts slowly on
# a busy CI box, and the grace must outlast a holder's claim-to-send time (sender.py).
GRACE = 15
# The inbound queue's visibility timeout here (see the module docstring).
INBOUND_RETRY = 35
HOOKS = ("tests.integration.faults:install_crashes", "tests.integration.faults:short_graph_timeout")


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp: Path = tmp_path_factory.mktemp("fault-stack")
    config = stack_config(
        tmp,
        environment={
            "*": {
                "SEND_RECONCILE_GRACE_SECONDS": str(GRACE),
                "WACLOUD_TEST_MARKERS": str(tmp / "marks"),
            },
            "InboundProcessorFunction": {"RESPONDER": "none"},
        },
        preload={
            "SenderFunction": HOOKS,
            "InboundProcessorFunction": ("tests.integration.faults:fail_first_status_once",),
        },
        # One sender at a time: moto does not make concurrent conditional writes atomic
        # (DynamoDB does), and two copies racing for a claim would test moto, not us.
        max_concurrency=1,
        queue_attributes={
            "OutboundQueue": {"VisibilityTimeout": "8"},
            "InboundQueue": {"VisibilityTimeout": str(INBOUND_RETRY)},
        },
    )
    with LocalStack(config) as running:
        emulator(running).add_template(TEMPLATE, body="Code {{1}}")
        yield running


@pytest.fixture(scope="module")
def scenarios(fault_stack: LocalStack) -> dict[str, tuple[str, str]]:
    """(phone number id, message id) per scenario, all queued together."""
    use_stack_in_this_process(fault_stack)
    timeout_pnid = fresh_pnid()
    emulator(fault_stack).faults.add_timeout(
        times=1, hold_seconds=4.0, path_contains=f"/{timeout_pnid}/messages"
    )
    plans = {
        "crash_after_claim": (fresh_pnid(), {"biz_opaque_callback_data": CRASH_AFTER_CLAIM}),
        "crash_after_send": (fresh_pnid(), {"biz_opaque_callback_data": CRASH_AFTER_SEND}),
        "timeout": (timeout_pnid, {}),
    }
    out: dict[str, tuple[str, str]] = {}
    for name, (pnid, extra) in plans.items():
        to = "1555" + str(uuid.uuid4().int)[:7]
        out[name] = (pnid, submit(template_doc(pnid, to, TEMPLATE, "1234", **extra)))
    return out


@pytest.fixture
def faults(fault_stack: LocalStack, scenarios: dict[str, tuple[str, str]]) -> LocalStack:
    use_stack_in_this_process(fault_stack)
    return fault_stack


def test_crash_between_claim_and_send(
    faults: LocalStack, scenarios: dict[str, tuple[str, str]]
) -> None:
    pnid, message_id = scenarios["crash_after_claim"]
    item = wait_state(pnid, message_id, timeout=180)
    assert len(sends_of(faults, message_id)) == 1
    # The first claim died with its process; only after the grace was it claimed again.
    assert history_states(item).count("sending") >= 2 and item["attempts"] >= 2


def test_crash_between_send_and_record(
    faults: LocalStack, scenarios: dict[str, tuple[str, str]]
) -> None:
    pnid, message_id = scenarios["crash_after_send"]
    item = wait_state(pnid, message_id, timeout=180)
    sends = sends_of(faults, message_id)
    assert len(sends) == 1
    # Never recorded by the sender: the status webhook (our id in biz_opaque_callback_data)
    # tied Meta's wamid to the record, and the redelivered copy found it finished.
    assert item["wamid"] == sends[0]["wamid"]
    assert sends[0]["biz_opaque_callback_data"].endswith("|" + CRASH_AFTER_SEND)


def test_timeout_is_retried_after_the_grace(
    faults: LocalStack, scenarios: dict[str, tuple[str, str]]
) -> None:
    pnid, message_id = scenarios["timeout"]
    item = wait_state(pnid, message_id, timeout=180)
    assert len(sends_of(faults, message_id)) == 1
    # The timed-out request was never accepted, so once the reconcile grace passed with
    # no status webhook the message was claimed and sent again.
    assert history_states(item).count("sending") >= 2
