"""The state table's change stream, read as facts (wacloud.models.facts).

Placeholder of the contract: ``facts_of`` takes one DynamoDB stream record as Lambda
delivers it (``eventName``, ``dynamodb.Keys/NewImage/OldImage`` in DynamoDB JSON) and
returns the facts it means, usually none. Built by the facts-feed work (BRIEF14).
"""

from __future__ import annotations

from typing import Any

from wacloud.models.facts import Fact


def facts_of(record: dict[str, Any]) -> list[Fact]:
    """The facts one stream record means (none for most records)."""
    return []
