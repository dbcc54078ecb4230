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


# ------------------------------------------------------------------ updating the card
CSV_COLUMNS = {
    "marketing": "marketing",
    "utility": "utility",
    "authentication": "authentication",
    "authentication-international": "authentication_international",
    "service": "service",
}


def card_from_csv(text: str) -> tuple[str, dict[str, dict[str, str]]]:
    """(currency, rates by market) from Meta's rate-card CSV: a header row naming
    Market, Currency and the category columns (rows above it, Meta's notes, are
    skipped); ``n/a`` or an empty cell means no rate."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    start = next(i for i, r in enumerate(rows) if r and r[0].strip().lower() == "market")
    header = [h.strip().lower() for h in rows[start]]
    currencies, rates = set(), {}
    for row in rows[start + 1 :]:
        if not row or not row[0].strip():
            continue
        values = dict(zip(header, (c.strip() for c in row), strict=False))
        currencies.add(values.get("currency", "").upper())
        rates[values["market"]] = {
            CSV_COLUMNS[name]: str(Decimal(value.lstrip("$€£₹")))
            for name, value in values.items()
            if name in CSV_COLUMNS and value and value.lower() != "n/a"
        }
    if len(currencies) != 1:
        raise ValueError(f"one currency per card, found {sorted(currencies)}")
    return currencies.pop(), rates


def main(argv: list[str] | None = None) -> None:
    """``python -m wacloud.analytics.rate_card CSV EFFECTIVE SOURCE``: add Meta's card
    (downloaded from the pricing page) to rate_card.json, effective YYYY-MM-DD."""
    import sys
    from datetime import date

    csv_path, effective, source = (sys.argv[1:] if argv is None else argv)[:3]
    date.fromisoformat(effective)
    currency, rates = card_from_csv(Path(csv_path).read_text(encoding="utf-8-sig"))
    data = json.loads(PATH.read_text(encoding="utf-8"))
    if currency != data["currency"]:
        raise SystemExit(f"the file's currency is {data['currency']}, the CSV's {currency}")
    cards = [c for c in data["cards"] if c["effective"] != effective]
    cards.append({"effective": effective, "source": source, "rates": rates})
    data["cards"] = sorted(cards, key=lambda c: str(c["effective"]))
    parse(data)  # refuse to write a malformed card
    PATH.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
