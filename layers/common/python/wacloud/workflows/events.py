"""Business events put on the stack's own bus (the operator API's `POST /v1/events`),
where the workflow rule picks up those whose source starts with the stack's prefix
(template parameter BusinessEventSourcePrefix, env BUSINESS_EVENT_SOURCE_PREFIX)."""

from __future__ import annotations

import json
import os
from typing import Any

from wacloud.errors import ConfigurationError, InputError, TransientError
from wacloud.infra.aws import events
from wacloud.infra.config import settings

DEFAULT_SOURCE_PREFIX = "business."


class EventRefusedError(InputError, ValueError):
    """The event cannot go on the bus as given (its source, its size)."""


class EventNotPublishedError(TransientError):
    """EventBridge did not take the event (throttled or failing); try again."""


def source_prefix() -> str:
    return os.environ.get("BUSINESS_EVENT_SOURCE_PREFIX") or DEFAULT_SOURCE_PREFIX


def publish_event(source: str, detail_type: str, detail: dict[str, Any]) -> str:
    """PutEvents one business event on the stack's bus; returns EventBridge's event id."""
    prefix = source_prefix()
    if not source.startswith(prefix) or source == prefix:
        raise EventRefusedError(f"source must start with {prefix!r} (and name something)")
    bus = settings().event_bus_name
    if not bus:
        raise ConfigurationError("EVENT_BUS_NAME is not set")
    entry = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, separators=(",", ":")),
        "EventBusName": bus,
    }
    if len(entry["Detail"].encode()) > 250_000:  # PutEvents: 256 KB per entry
        raise EventRefusedError("detail is larger than 250 KB")
    response = events().put_events(Entries=[entry])
    result = (response.get("Entries") or [{}])[0]
    if response.get("FailedEntryCount") or not result.get("EventId"):
        raise EventNotPublishedError(f"EventBridge refused the event: {result.get('ErrorCode')}")
    return str(result["EventId"])
