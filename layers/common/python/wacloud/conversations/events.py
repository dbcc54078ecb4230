"""Telling the business: conversation events on its bus and the operators' topic.

Each event goes to EventBridge (EVENT_BUS_NAME, source ``wacloud``) and, for a
handoff, to SNS (HANDOFF_TOPIC_ARN) for people subscribed by e-mail, SMS or a chat
tool. Both carry who and why, never what the customer wrote. The customer's number
(``wa_id``) is in them: both belong to the business, and an operator needs it to
answer; it never reaches the logs. Unset destinations are skipped (a stack that
does not want them). A failed call raises, so the caller's item is retried and the
event is sent then (wacloud.conversations.handoff marks what was sent).

The stack's bus also carries the business events that start workflows; their rule
matches sources under BusinessEventSourcePrefix (``business.`` by default) and named
detail types, so ``wacloud`` / ``conversation.*`` never start one.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from wacloud.errors import TransientError
from wacloud.infra.aws import events, sns
from wacloud.infra.config import settings

logger = Logger(child=True)

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


def publish(detail_type: str, detail: dict[str, Any], *, notify_operators: bool) -> None:
    """Put one event on the bus and, with ``notify_operators``, on the handoff topic."""
    cfg = settings()
    body = json.dumps(detail, separators=(",", ":"), sort_keys=True)
    if cfg.event_bus_name:
        response = events().put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": body,
                    "EventBusName": cfg.event_bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            codes = [e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")]
            raise EventPublishError(f"{detail_type} not accepted by EventBridge: {codes}")
    if notify_operators and cfg.handoff_topic_arn:
        sns().publish(
            TopicArn=cfg.handoff_topic_arn,
            Subject=_SUBJECTS.get(detail_type, "wacloud"),
            Message=body,
            MessageAttributes={
                "event": {"DataType": "String", "StringValue": detail_type},
                "reason": {"DataType": "String", "StringValue": str(detail.get("reason", ""))},
            },
        )
    logger.info(
        "conversation event published",
        extra={
            "event": detail_type,
            "bus": bool(cfg.event_bus_name),
            "topic": notify_operators and bool(cfg.handoff_topic_arn),
        },
    )
