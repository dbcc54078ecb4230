"""The event lake: every fact as a JSON line in S3 by day, queried with Athena (Glue
table) on AWS and with an embedded engine locally, with the same SQL (docs/lake.md)."""

from __future__ import annotations

from collections.abc import Sequence

from wacloud.models.facts import Fact

__all__ = ["deliver"]


def deliver(facts: Sequence[Fact]) -> None:
    """Hand the facts to the lake's delivery stream (placeholder of the contract)."""
