"""Which counters one fact adds to, and to which aggregates (docs/analytics.md, "Counters").

Pure: a fact in, its increments out. Counters are flat attribute names so DynamoDB's
ADD creates them on first use; the parts after ``#`` are a category, a market, an
error code, a reason or an agent's handle, never a customer's number or text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wacloud.analytics.rate_card import RateCard, normalise_category
from wacloud.models.facts import (
    FUNNEL_STEPS,
    AssistantAnswered,
    CampaignCompleted,
    ContactOptedOut,
    ConversationHandoffRequested,
    ConversationOpened,
    ConversationResolved,
    Fact,
    MessageReceived,
    MessageStatusChanged,
    SurveyAnswered,
)
from wacloud.store.analytics import CAMPAIGN, DAY, TEMPLATE, Aggregate, Counted, stats_pk

SCORES = ("good", "ok", "bad")


def day_of(at: float) -> str:
    """The fact's day, UTC (YYYY-MM-DD)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def _safe(part: str) -> str:
    """A counter-name part: no ``#`` (the separator), bounded length."""
    return part.replace("#", "_")[:64] or "unknown"


def is_billable(fact: MessageStatusChanged) -> bool:
    """Meta charges for it: ``pricing.billable`` true, or a ``regular`` pricing type
    (``billable`` is being deprecated; ``type`` says free vs charged)."""
    return fact.pricing_category is not None and (
        fact.billable is True or fact.pricing_type == "regular"
    )


def count(fact: Fact, card: RateCard) -> Counted:
    """The increments one fact makes (none for facts the aggregates do not count)."""
    counted = Counted(fact.phone_number_id, fact.id)
    day = day_of(fact.at)
    number = Aggregate(stats_pk(fact.phone_number_id, DAY), day)
    if isinstance(fact, MessageStatusChanged):
        _status(fact, card, day, number, counted)
    elif isinstance(fact, MessageReceived):
        counted.add(number, "in")
        if fact.context_message_id is not None:
            counted.add(number, "replied")
            if fact.campaign_id:
                campaign = Aggregate(
                    stats_pk(fact.phone_number_id, CAMPAIGN), f"{day}#{fact.campaign_id}"
                )
                counted.add(campaign, "replied")
    elif isinstance(fact, AssistantAnswered):
        counted.add(number, "answered#assistant")
        if fact.response_seconds is not None and fact.response_seconds >= 0:
            counted.add(number, "frt_ms#assistant", round(fact.response_seconds * 1000))
            counted.add(number, "frt_n#assistant")
    elif isinstance(fact, ConversationOpened):
        origin = "free_entry_point" if fact.origin == "free_entry_point" else "customer"
        counted.add(number, f"opened#{origin}")
    elif isinstance(fact, ConversationHandoffRequested):
        counted.add(number, "handoff")
        counted.add(number, f"handoff#{_safe(fact.reason or 'unknown')}")
    elif isinstance(fact, ConversationResolved):
        _resolved(fact, number, counted)
    elif isinstance(fact, SurveyAnswered):
        score = fact.score if fact.score in SCORES else "other"
        counted.add(number, f"csat#{score}")
        if fact.agent:
            counted.add(number, f"csat#{score}#agent#{_safe(fact.agent)}")
    elif isinstance(fact, CampaignCompleted):
        counted.add(number, "campaigns_completed")
    elif isinstance(fact, ContactOptedOut):
        counted.add(number, "opted_out")
    return counted


def _status(
    fact: MessageStatusChanged, card: RateCard, day: str, number: Aggregate, counted: Counted
) -> None:
    rows = [number]
    if fact.template_name:
        language = fact.template_language or "-"
        sk = f"{day}#{_safe(fact.template_name)}#{_safe(language)}"
        rows.append(Aggregate(stats_pk(fact.phone_number_id, TEMPLATE), sk))
    if fact.campaign_id:
        rows.append(
            Aggregate(stats_pk(fact.phone_number_id, CAMPAIGN), f"{day}#{_safe(fact.campaign_id)}")
        )
    for step in fact.crossed:
        if step in FUNNEL_STEPS:
            for row in rows:
                counted.add(row, step)
            if step == "sent":
                for row in rows:
                    counted.add(row, "out")
    if fact.status == "failed" and fact.previous != "failed":
        # Once per message: a later change of a failed message (its pricing) is not
        # another failure.
        codes = fact.error_codes or ()
        for row in rows:
            counted.add(row, "failed")
        for code in codes or ("unknown",):
            counted.add(number, f"failed#{code}")
    if fact.pricing_category is not None:
        category = normalise_category(fact.pricing_category)
        for row in rows:
            counted.add(row, f"priced#{category}")
        if fact.pricing_type:
            counted.add(number, f"ptype#{_safe(fact.pricing_type)}")
        if is_billable(fact):
            market = card.market_of(fact.wa_id, day)
            for row in rows:
                counted.add(row, f"billable#{category}#{market}")
            if fact.template_name:
                counted.add(number, "opened#business")


def _resolved(fact: ConversationResolved, number: Aggregate, counted: Counted) -> None:
    who = "assistant" if fact.resolved_by == "assistant" else "agent"
    counted.add(number, f"resolved#{who}")
    if fact.handed_off:
        counted.add(number, "resolved#handed_off")
    subjects = [who]
    if who == "agent" and fact.agent:
        subjects.append(f"agent#{_safe(fact.agent)}")
    for name, seconds in (("frt", fact.first_response_seconds), ("res", fact.resolution_seconds)):
        if seconds is None or seconds < 0:
            continue
        for subject in subjects:
            counted.add(number, f"{name}_ms#{subject}", round(seconds * 1000))
            counted.add(number, f"{name}_n#{subject}")
