"""Screening one customer message: allow it, answer with the "too fast" notice, or stay
silent (over the rate, blocked, or just blocked now).

AWS calls: none for an ordinary message (the minute's count and the contact come back
from the customer-message write, store/moderation.py); one write for a message that
adds to the score or comes in a burst; a block adds one write and one Graph call.
The tenant's settings are read at most once a minute per warm Lambda.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wacloud.infra.clock import now
from wacloud.moderation import actions, scoring
from wacloud.store import moderation as state

if TYPE_CHECKING:
    from wacloud.graph.client import GraphClient


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    NOTICE = "notice"  # over the rate: the burst's one notice
    SILENT = "silent"  # over the rate after the notice, or blocked


@dataclass
class Screen:
    """Decides what happens to a customer's message (see the module docstring)."""

    graph: GraphClient | None = None

    def check(
        self, phone_number_id: str, wa_id: str, text: str | None, *, at: float | None = None
    ) -> Verdict:
        config = state.load_settings(phone_number_id)
        if not config.enabled:
            return Verdict.ALLOW
        noted = state.take_customer_message(phone_number_id, wa_id, at)
        duplicate = False
        if noted is not None:
            at, count, old, duplicate = noted
        else:
            at = now() if at is None else at
            count, old = state.count_message(phone_number_id, wa_id, at)
        if _blocked(old, at):
            return Verdict.SILENT
        if duplicate:
            # Meta delivering the same message again is not the customer writing: no
            # count, no score (its reply, if any, goes once by its idempotency key).
            return Verdict.ALLOW
        over = count > config.rate_per_minute
        burst = count >= 2
        key = f"{phone_number_id}:{wa_id}"
        digest = scoring.digest(text, key) if text and burst else None
        points = scoring.Points(
            over_rate=over,
            repeated=digest is not None and digest == old.get("mod_digest"),
            link=scoring.has_link(text),
        )
        if points.total or digest is not None:
            score = points.total + scoring.decayed(
                float(old.get("mod_score", 0)),
                _float(old.get("mod_score_at")),
                at,
                config.half_life_seconds,
            )
            if score >= config.threshold:
                actions.block(
                    phone_number_id,
                    wa_id,
                    until=at + config.block_seconds,
                    reason="abuse score",
                    by="moderation",
                    at=at,
                    graph=self.graph,
                )
                return Verdict.SILENT
            state.save_score(phone_number_id, wa_id, score=score, at=at, digest=digest)
        if not over:
            return Verdict.ALLOW
        minute = state.minute_of(at)
        noticed = old.get("mod_notice_minute")
        if noticed is not None and int(noticed) >= minute:
            return Verdict.SILENT
        return (
            Verdict.NOTICE if state.claim_notice(phone_number_id, wa_id, minute) else Verdict.SILENT
        )


def _blocked(contact: dict[str, Any], at: float) -> bool:
    if not contact.get("blocked"):
        return False
    until = contact.get("blocked_until")
    return until is None or float(until) > at


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None
