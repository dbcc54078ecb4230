"""Daily aggregates per phone number, counted exactly once from facts; cost from Meta's
pricing times a rate card kept as data (docs/analytics.md)."""

from __future__ import annotations

from collections.abc import Sequence

from wacloud.models.facts import Fact

__all__ = ["record_facts"]


def record_facts(facts: Sequence[Fact]) -> None:
    """Count each fact once into its day's aggregates (placeholder of the contract)."""
