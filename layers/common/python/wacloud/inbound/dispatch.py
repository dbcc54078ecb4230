"""The inbound registry: what happened, and who wants to know.

The inbound core records every update of a webhook (a customer message, a status, any
other field) and answers the customer. What other features do with an update is
theirs: a campaign counts replies and statuses, the template mirror follows template
webhooks, the sender paces to an announced messaging limit. They subscribe here, in
the function's ``app.py``, instead of the core importing them (the style of pywa's
handler registry and Powertools' event-handler resolvers: register per kind, and
each update is dispatched to what was registered for it).

Subscribers are called after the core recorded the update, on every delivery of it
(not only the one that recorded it: a Lambda that dies between the record and a
subscriber must not lose what the subscriber does), so each must be idempotent.
A subscriber returns a short note for the item's effects, or None.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class InboundEffects:
    """What processing one update did (returned, and stored by Powertools Idempotency)."""

    kind: str
    recorded: bool = False
    replies: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "recorded": self.recorded,
            "replies": self.replies,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    """A customer's message, recorded."""

    phone_number_id: str
    wa_id: str
    wamid: str
    at: float
    type: str
    #: The wamid the customer replied to (the message's ``context.id``), if any.
    context_wamid: str | None
    #: A message from the customer (not a system message): it opens the window.
    opens_window: bool


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A status webhook for one of our messages, recorded and applied."""

    phone_number_id: str
    wamid: str
    #: Our message id; None when the message is not ours (sent by another system).
    message_id: str | None
    status: str
    at: float


@dataclass(frozen=True, slots=True)
class FieldChange:
    """Any other webhook field (templates, account, preferences...), recorded."""

    field: str
    waba_id: str
    #: None for WABA-level fields.
    phone_number_id: str | None
    value: dict[str, Any]
    at: float


Event = CustomerMessage | StatusChange | FieldChange


class Subscribers:
    """Who is told about each kind of recorded update; fields by name."""

    def __init__(self) -> None:
        self._messages: list[Callable[[CustomerMessage], str | None]] = []
        self._statuses: list[Callable[[StatusChange], str | None]] = []
        self._fields: dict[str, list[Callable[[FieldChange], str | None]]] = defaultdict(list)

    def on_message(
        self, fn: Callable[[CustomerMessage], str | None]
    ) -> Callable[[CustomerMessage], str | None]:
        """Decorator: call ``fn`` for every recorded customer message."""
        self._messages.append(fn)
        return fn

    def on_status(
        self, fn: Callable[[StatusChange], str | None]
    ) -> Callable[[StatusChange], str | None]:
        """Decorator: call ``fn`` for every recorded status webhook."""
        self._statuses.append(fn)
        return fn

    def on_field(
        self, *names: str
    ) -> Callable[[Callable[[FieldChange], str | None]], Callable[[FieldChange], str | None]]:
        """Decorator: call the function for every recorded field among ``names``."""

        def register(
            fn: Callable[[FieldChange], str | None],
        ) -> Callable[[FieldChange], str | None]:
            for name in names:
                self._fields[name].append(fn)
            return fn

        return register

    def publish(self, event: Event, effects: InboundEffects) -> None:
        """Tell every subscriber of the event's kind; their notes go to ``effects``."""
        targets: list[Callable[[Any], str | None]]
        if isinstance(event, CustomerMessage):
            targets = list(self._messages)
        elif isinstance(event, StatusChange):
            targets = list(self._statuses)
        else:
            targets = list(self._fields.get(event.field, ()))
        for subscriber in targets:
            note = subscriber(event)
            if note:
                effects.notes.append(note)
