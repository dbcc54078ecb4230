"""All mutable emulator state behind one re-entrant lock.

One lock is deliberate: the emulator is a test tool, contention is irrelevant, and a single
lock makes every multi-step rule (window check + rate limit + record) atomic.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from .config import EmulatorConfig
from .models import (
    InboundMessage,
    Media,
    PhoneNumber,
    RequestRecord,
    SentMessage,
    Template,
)


@dataclass
class UserState:
    """A simulated WhatsApp user as seen by one business number."""

    wa_id: str
    profile_name: str = "Customer"
    last_inbound_at: float | None = None  # opens the 24 h customer service window
    referral_at: float | None = None


@dataclass
class State:
    cfg: EmulatorConfig
    lock: threading.RLock = field(default_factory=threading.RLock)
    phone_numbers: dict[str, PhoneNumber] = field(default_factory=dict)
    users: dict[tuple[str, str], UserState] = field(default_factory=dict)
    not_on_whatsapp: set[str] = field(default_factory=set)
    sent: list[SentMessage] = field(default_factory=list)
    sent_by_id: dict[str, SentMessage] = field(default_factory=dict)
    inbound: dict[str, InboundMessage] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)  # by id
    deleted_template_names: dict[tuple[str, str], float] = field(default_factory=dict)
    template_creations: dict[str, deque[float]] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    media_ids_issued: set[str] = field(default_factory=set)
    template_ids: set[str] = field(default_factory=set)
    requests: list[RequestRecord] = field(default_factory=list)
    # rate limiting
    throughput_events: dict[str, deque[float]] = field(default_factory=dict)
    pair_tat: dict[tuple[str, str], float] = field(default_factory=dict)
    unique_reached: dict[str, dict[str, float]] = field(default_factory=dict)

    def user(self, phone_number_id: str, wa_id: str) -> UserState:
        key = (phone_number_id, wa_id)
        u = self.users.get(key)
        if u is None:
            u = UserState(wa_id=wa_id)
            self.users[key] = u
        return u

    def in_window(self, phone_number_id: str, wa_id: str, now: float) -> bool:
        """Customer service window: 24 h from the user's last message
        (docs/meta/messages.md#customer-service-window)."""
        u = self.users.get((phone_number_id, wa_id))
        return bool(u and u.last_inbound_at is not None and now - u.last_inbound_at < 86400)

    def templates_for(self, waba_id: str) -> list[Template]:
        return [t for t in self.templates.values() if t.waba_id == waba_id]
