"""Lambda's asynchronous invocation, as EventBridge rules and schedules invoke targets.

A failed asynchronous invocation is retried `MaximumRetryAttempts` times (the
function's EventInvokeConfig; Lambda's default is 2), then Lambda's invocation record
(the event in `requestPayload`, the error in `responsePayload`) goes to the on-failure
destination queue, if there is one; without one the event is dropped, as on AWS.
Locally the retries follow at once (Lambda waits about 1 and 2 minutes).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.lambdas import Invocation, LocalFunction

DEFAULT_ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations


@dataclass(frozen=True)
class AsyncInvokeConfig:
    max_retries: int = DEFAULT_ASYNC_RETRIES
    on_failure_queue_url: str | None = None

    @classmethod
    def from_properties(
        cls, props: dict[str, Any], queue_url_of: Callable[[str], str]
    ) -> AsyncInvokeConfig:
        """From a resolved AWS::Lambda::EventInvokeConfig (SQS destinations only)."""
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is not None and ":sqs:" not in destination:
            raise ValueError(f"only SQS on-failure destinations run locally, not {destination}")
        return cls(
            max_retries=int(props.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)),
            on_failure_queue_url=queue_url_of(destination) if destination else None,
        )


def invoke_async(
    function: LocalFunction, event: dict[str, Any], config: AsyncInvokeConfig, sqs: Any
) -> Invocation:
    """Invoke as an asynchronous invocation; the final attempt's result."""
    attempts = 1 + config.max_retries
    for _ in range(attempts):
        outcome = function.invoke(event)
        if outcome.ok:
            return outcome
    if config.on_failure_queue_url:
        record = failure_record(function.spec.name, event, outcome, attempts)
        sqs.send_message(QueueUrl=config.on_failure_queue_url, MessageBody=record)
    return outcome


def failure_record(function: str, event: dict[str, Any], outcome: Invocation, count: int) -> str:
    """Lambda's on-failure destination record (its documented shape)."""
    error = outcome.error or ""
    error_type, _, message = error.partition(": ")
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{event.get('region', 'us-east-1')}:"
                f"{event.get('account', '123456789012')}:function:{function}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": count,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorType": error_type,
                "errorMessage": message.split("\n", 1)[0],
            },
        }
    )


def async_configs(
    resources: dict[str, Any], resolve: Callable[[Any], Any], queue_url_of: Callable[[str], str]
) -> dict[str, AsyncInvokeConfig]:
    """Each function's EventInvokeConfig in a translated template, by function id."""
    found: dict[str, AsyncInvokeConfig] = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig":
            props = resolve(resource["Properties"])
            found[props["FunctionName"]] = AsyncInvokeConfig.from_properties(props, queue_url_of)
    return found
