"""Meta's rate card as data (rate_card.json next to this module; docs/analytics.md).

A card gives, from its effective date (UTC), the rate per delivered billable message by
market and pricing category, in the file's one currency (a WABA is billed in one
currency). The market of a message is its recipient's: the longest calling-code prefix
of the wa_id in the card's ``calling_codes`` (the NANP's Caribbean members are listed
by area code, ``1809``...), else ``default_market``. Amounts stay Decimal end to end,
so a day's cost is exactly count x rate.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("rate_card.json")
#: The longest calling-code prefix looked up (a NANP area code: 1 + 3 digits).
LONGEST_PREFIX = 4


@dataclass(frozen=True, slots=True)
class Card:
    effective: str
    rates: dict[str, dict[str, Decimal]]
    calling_codes: dict[str, str]
    source: str


@dataclass(frozen=True, slots=True)
class RateCard:
    currency: str
    default_market: str
    cards: tuple[Card, ...]
    publisher: str

    def card_at(self, day: str) -> Card | None:
        """The card in effect on `day` (YYYY-MM-DD), or None before the first one."""
        index = bisect_right([c.effective for c in self.cards], day)
        return self.cards[index - 1] if index else None

    def market_of(self, wa_id: str, day: str) -> str:
        """The pricing market of a recipient on `day` (no card yet: the default)."""
        card = self.card_at(day) or (self.cards[0] if self.cards else None)
        digits = "".join(ch for ch in wa_id if ch.isdigit())
        if card is not None:
            for length in range(min(LONGEST_PREFIX, len(digits)), 0, -1):
                market = card.calling_codes.get(digits[:length])
                if market is not None:
                    return market
        return self.default_market

    def rate(self, day: str, market: str, category: str) -> Decimal | None:
        """The rate of one billable message, or None when the card has none (no card
        in effect that day, a market or category it does not price)."""
        card = self.card_at(day)
        if card is None:
            return None
        return card.rates.get(market, {}).get(normalise_category(category))


def normalise_category(category: str) -> str:
    """Meta writes ``authentication-international``; the card's keys use ``_``."""
    return category.strip().lower().replace("-", "_")


def parse(data: dict[str, Any]) -> RateCard:
    """A rate card from its JSON form; ValueError if it is malformed."""
    cards: list[Card] = []
    codes: dict[str, str] = {}
    for raw in sorted(data.get("cards") or [], key=lambda c: str(c["effective"])):
        codes = {str(k): str(v) for k, v in (raw.get("calling_codes") or codes).items()}
        rates = {
            str(market): {
                normalise_category(str(cat)): Decimal(str(amount))
                for cat, amount in by_category.items()
                if amount is not None
            }
            for market, by_category in (raw.get("rates") or {}).items()
        }
        if any(r < 0 for by in rates.values() for r in by.values()):
            raise ValueError(f"card {raw['effective']}: a negative rate")
        cards.append(Card(str(raw["effective"]), rates, codes, str(raw.get("source", ""))))
    if not data.get("currency"):
        raise ValueError("the rate card names no currency")
    return RateCard(
        currency=str(data["currency"]),
        default_market=str(data.get("default_market") or "Other"),
        cards=tuple(cards),
        publisher=str(data.get("publisher", "")),
    )


@cache
def rate_card() -> RateCard:
    """The deployed rate card (read once per container)."""
    return parse(json.loads(PATH.read_text(encoding="utf-8")))
