"""EventBridge rules on a bus and Lambda's asynchronous invocation, for `put_event`.

A rule matches an event on its own bus only (a rule on the stack's bus never sees the
default bus), with the pattern forms the template uses: lists of exact values or
`{"prefix": ...}` per field, nested for `detail`. EventBridge invokes its target
asynchronously, so the function's EventInvokeConfig applies (local/async_invoke.py).

Not modelled: the rule target's own RetryPolicy and DeadLetterConfig, which only
come into play when EventBridge cannot hand the event to Lambda at all (throttling,
a missing function, no permission), which a local stack cannot produce.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from local.async_invoke import AsyncInvokeConfig, invoke_async
from local.lambdas import Invocation, LocalFunction

__all__ = ["AsyncInvokeConfig", "BusForwarder", "EventRule", "business_event", "matches"]


def business_event(
    detail_type: str,
    detail: dict[str, Any],
    source: str,
    region: str,
    account: str,
    *,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The envelope EventBridge delivers for one PutEvents entry."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [],
        "detail": detail,
    }


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    for key, expected in pattern.items():
        value = event.get(key)
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif not any(_matches_value(rule, value) for rule in expected):
            return False
    return True


def _matches_value(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        if set(rule) != {"prefix"}:
            raise ValueError(f"unsupported pattern {rule!r} (locally: exact values, prefix)")
        return isinstance(value, str) and value.startswith(str(rule["prefix"]))
    return bool(rule == value)


@dataclass
class EventRule:
    logical_id: str
    bus: str
    pattern: dict[str, Any]
    function: LocalFunction
    invoke: AsyncInvokeConfig = field(default_factory=AsyncInvokeConfig)

    def matches(self, event: dict[str, Any]) -> bool:
        return matches(self.pattern, event)

    def deliver(self, event: dict[str, Any], sqs: Any) -> Invocation:
        """Invoke the target as an asynchronous invocation; the final attempt's result."""
        return invoke_async(self.function, event, self.invoke, sqs)


class BusForwarder:
    """Events the handlers put on a bus in moto (PutEvents) reach the local rules.

    moto's EventBridge stores rules but cannot invoke our functions, so each bus with
    local rules gets one catch-all moto rule whose target is a local SQS queue; this
    forwarder receives from it and hands each event to the rules that match, as
    EventBridge would (each delivery in its own thread: EventBridge does not wait for
    one target before the next event). `LocalStack.put_event` stays the direct path
    for tests that publish and wait for the outcome.
    """

    def __init__(
        self, bus: str, rules: list[EventRule], events: Any, sqs: Any, account: str
    ) -> None:
        self.bus, self._rules, self._sqs = bus, rules, sqs
        name = f"local-bus-forward-{abs(hash(bus)) % 10**8}"
        self._queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=name, EventBusName=bus, EventPattern=json.dumps({"account": [account]})
        )
        events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": "local-forward", "Arn": arn}]
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"bus-{name}")
        self.forwarded = 0

    def start(self) -> BusForwarder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                got = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                )
            except Exception:  # the moto server is stopping
                if self._stop.wait(0.5):
                    return
                continue
            for message in got.get("Messages", []):
                self._forward(message["Body"])
                self._sqs.delete_message(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def _forward(self, body: str) -> None:
        try:
            event = json.loads(body)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        for rule in self._rules:
            if rule.matches(event):
                self.forwarded += 1
                threading.Thread(target=rule.deliver, args=(event, self._sqs), daemon=True).start()
