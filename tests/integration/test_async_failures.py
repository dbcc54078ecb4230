"""Asynchronous invocations keep what failed (issue #14, "nothing is silently dropped").

EventBridge invokes scheduled functions asynchronously, so a run that fails is retried
as the function's EventInvokeConfig says, then Lambda's invocation record goes to the
on-failure destination (ScheduledRunDeadLetterQueue, alarmed). A failing business event
ends in WorkflowFailedEventQueue the same way (tests/integration/test_workflows.py,
test_a_failing_business_event_is_kept_in_the_on_failure_destination).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local.stack import LocalStack
from local.waiting import wait_for
from tests.integration.conftest import TEST_ENVIRONMENT

TICKER = "TemplateSyncFunctionEverySixHours"


def _records(stack: LocalStack, output: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    got = sqs.receive_message(
        QueueUrl=stack.outputs[output], MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_a_failing_scheduled_run_is_kept_with_its_error(
    make_stack: Callable[..., LocalStack],
) -> None:
    """TemplateSync pointed at a table that does not exist fails every attempt: Lambda
    tries it 1 + MaximumRetryAttempts (2) times, then keeps the scheduled event and the
    error in ScheduledRunDeadLetterQueue."""
    broken = {"TemplateSyncFunction": {"TABLE_NAME": "no-such-table"}}
    stack = make_stack(environment={**TEST_ENVIRONMENT, **broken})
    outcome = stack.tickers[TICKER].fire()
    assert not outcome.ok and outcome.error is not None
    assert "ResourceNotFoundException" in outcome.error
    (record,) = wait_for(
        "the failed run's record", lambda: _records(stack, "ScheduledRunDeadLetterQueueUrl")
    )
    assert record["requestPayload"]["detail-type"] == "Scheduled Event"
    assert record["requestPayload"]["resources"][0].endswith(f"rule/{TICKER}")
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":TemplateSyncFunction:$LATEST")
    assert record["responsePayload"]["errorType"] == "ResourceNotFoundException"
    # QueueProcessor is not retried (the next minute's run is the retry): a success
    # leaves nothing behind.
    assert stack.tickers["QueueProcessorFunctionEveryMinute"].fire().ok
    assert len(_records(stack, "ScheduledRunDeadLetterQueueUrl")) == 1
