"""Facts: the state table's change stream, turned into facts once and handed to the
aggregates, the event lake and the bus (wacloud.models.facts explains why here).

Placeholder of the contract; the facts-feed work builds the batch handling.
"""

from __future__ import annotations

from typing import Any

from wacloud import analytics, events_out, lake
from wacloud.store.changes import facts_of


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    facts = [fact for record in event.get("Records", []) for fact in facts_of(record)]
    analytics.record_facts(facts)
    lake.deliver(facts)
    events_out.publish(facts)
    return {"batchItemFailures": []}
