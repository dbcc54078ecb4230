"""Telling the business: conversation events on its bus and the operators' topic.

`publish` puts the conversation events that have no fact on the bus (EVENT_BUS_NAME,
source ``wacloud``): ``conversation.assigned`` and ``conversation.released``. The facts
(``conversation.handoff_requested``, ``conversation.resolved``, ...) reach the bus from
the state table's change stream instead, once per change (wacloud.events_out,
docs/events.md): put here as well, they would be there twice.
`tell_operators` puts a handoff request on SNS (HANDOFF_TOPIC_ARN) for people
subscribed by e-mail, SMS or a chat tool, at once. Both carry who and why, never what
the customer wrote. The customer's number (``wa_id``) is in them: both belong to the
business, and an operator needs it to answer; it never reaches the logs. Unset
destinations are skipped (a stack that does not want them). A failed call raises, so
the caller's item is retried and the event is sent then (wacloud.conversations.handoff
marks what was sent).

The stack's bus also carries the business events that start workflows; their rule
matches sources under BusinessEventSourcePrefix (``business.`` by default, always
ending with a dot), so ``wacloud`` never starts one.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from wacloud.errors import TransientError
from wacloud.infra.aws import events, sns
from wacloud.infra.config import settings

logger = Logger(child=True)

#: The same source as wacloud.events_out's (tests/unit/test_events_out.py checks it).
SOURCE = "wacloud"
HANDOFF_REQUESTED = "conversation.handoff_requested"
RELEASED = "conversation.released"
# SNS subjects are ASCII, at most 100 characters.
_SUBJECTS = {
    HANDOFF_REQUESTED: "wacloud: a customer is waiting for a person",
    RELEASED: "wacloud: a conversation is back with the bot",
}


class EventPublishError(TransientError, RuntimeError):
    """EventBridge accepted the call but not the entry (throttled, internal error)."""


def publish(detail_type: str, detail: dict[str, Any]) -> None:
    """Put one conversation event on the bus (none configured: nothing)."""
    bus = settings().event_bus_name
    if not bus:
        return
    response = events().put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": _body(detail),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        codes = [e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")]
        raise EventPublishError(f"{detail_type} not accepted by EventBridge: {codes}")
    logger.info("conversation event published", extra={"event": detail_type})


def tell_operators(detail_type: str, detail: dict[str, Any]) -> None:
    """Put one event on the operators' handoff topic (none configured: nothing)."""
    topic = settings().handoff_topic_arn
    if not topic:
        return
    sns().publish(
        TopicArn=topic,
        Subject=_SUBJECTS.get(detail_type, "wacloud"),
        Message=_body(detail),
        MessageAttributes={
            "event": {"DataType": "String", "StringValue": detail_type},
            "reason": {"DataType": "String", "StringValue": str(detail.get("reason", ""))},
        },
    )
    logger.info("operators told", extra={"event": detail_type})


def _body(detail: dict[str, Any]) -> str:
    return json.dumps(detail, separators=(",", ":"), sort_keys=True)
