"""Events out: our facts on the stack's EventBridge bus for business apps (docs/events.md).

The Facts function hands every batch of facts from the state table's change stream to
`publish`; the public ones (``PUBLIC``: messages received and their statuses, handoffs,
resolutions and survey answers, completed campaigns, template status changes,
opt-outs) become events with source ``wacloud`` and the fact's type as detail-type.
A fact is emitted once: a duplicated webhook changes the state once, so it yields one
stream record and one fact. Only a failed stream batch, retried by Lambda, emits some
events again, with the same ``detail.id``: subscribers deduplicate on it.

``conversation.handoff_requested`` and ``conversation.resolved`` used to be put on the
bus directly by wacloud.conversations; they come from here only now (docs/events.md,
"Why from the stream"). ``conversation.assigned`` and ``conversation.released`` have no
fact and are still put directly by wacloud.conversations.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools import Logger

from wacloud.infra.config import settings
from wacloud.models.facts import Fact

from .bus import EventsNotPublishedError, EventTooLargeError, put
from .details import DETAIL_VERSION, PUBLIC, SOURCE, detail_of, entry_of

logger = Logger(child=True)

__all__ = [
    "DETAIL_VERSION",
    "PUBLIC",
    "SOURCE",
    "EventTooLargeError",
    "EventsNotPublishedError",
    "detail_of",
    "publish",
]


def publish(facts: Sequence[Fact]) -> int:
    """Put the public facts on the stack's bus, in order; the number of events put.

    Raises EventsNotPublishedError when EventBridge keeps refusing some, so the stream
    records are retried (nothing is dropped). No bus configured: nothing is put.
    """
    bus = settings().event_bus_name
    if not bus:
        return 0
    entries = [e for e in (entry_of(f, bus) for f in facts) if e is not None]
    if not entries:
        return 0
    calls = put(entries)
    logger.info("facts published on the bus", extra={"events": len(entries), "calls": calls})
    return len(entries)
