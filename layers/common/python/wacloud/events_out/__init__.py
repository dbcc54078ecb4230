"""Events out: our facts on the stack's EventBridge bus for business apps (docs/events.md)."""

from __future__ import annotations

from collections.abc import Sequence

from wacloud.models.facts import Fact

__all__ = ["publish"]


def publish(facts: Sequence[Fact]) -> None:
    """Put the facts business apps subscribe to on the bus (placeholder of the contract)."""
