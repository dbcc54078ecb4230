"""Reports over a day range, shaped for charting: a series with one point per day of
the range (zeros where nothing happened) and the range's totals.

Cost is computed here, at read time, from the billable counts per category and market
and the rate card in effect on each day: correcting the card corrects past reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from wacloud.analytics.rate_card import RateCard, rate_card
from wacloud.store import analytics as store

#: The longest range one report reads (a year and a day: a leap year's same date).
MAX_DAYS = 367
FUNNEL_COUNTERS = ("in", "out", "sent", "delivered", "read", "played", "failed", "replied")
MESSAGE_COUNTERS = ("out", "sent", "delivered", "read", "played", "failed")


class RangeError(ValueError):
    """The day range is not two ISO dates in order within MAX_DAYS."""


def day_range(first: str, last: str) -> list[str]:
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError as exc:
        raise RangeError("from and to are dates, YYYY-MM-DD") from exc
    if end < start:
        raise RangeError("to is before from")
    length = (end - start).days + 1
    if length > MAX_DAYS:
        raise RangeError(f"at most {MAX_DAYS} days per report")
    return [(start + timedelta(days=i)).isoformat() for i in range(length)]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _money(amount: Decimal) -> float:
    return float(amount.quantize(Decimal("0.000001")))


def _by_day(items: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for item in items:
        out[str(item["sk"])[:10]] = store.counters(item)
    return out


def _sum(rows: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for row in rows:
        for name, n in row.items():
            total[name] += n
    return dict(total)


# ------------------------------------------------------------------ cost
class Cost:
    """The cost of one set of counters on one day: by category and market, plus the
    billable messages the card could not price (no card yet, unknown market)."""

    def __init__(self) -> None:
        self.amount = Decimal(0)
        self.billable = 0
        self.unpriced = 0
        self.by_category: dict[str, Decimal] = defaultdict(Decimal)
        self.by_market: dict[str, Decimal] = defaultdict(Decimal)

    def add(self, day: str, counters: Mapping[str, int], card: RateCard) -> Cost:
        for name, n in counters.items():
            if not name.startswith("billable#"):
                continue
            _, category, market = name.split("#", 2)
            self.billable += n
            rate = card.rate(day, market, category)
            if rate is None:
                self.unpriced += n
                continue
            self.amount += rate * n
            self.by_category[category] += rate * n
            self.by_market[market] += rate * n
        return self

    def merge(self, other: Cost) -> None:
        self.amount += other.amount
        self.billable += other.billable
        self.unpriced += other.unpriced
        for k, v in other.by_category.items():
            self.by_category[k] += v
        for k, v in other.by_market.items():
            self.by_market[k] += v

    def as_dict(self, *, markets: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cost": _money(self.amount),
            "billable": self.billable,
            "unpriced": self.unpriced,
            "by_category": {k: _money(v) for k, v in sorted(self.by_category.items())},
        }
        if markets:
            out["by_market"] = {k: _money(v) for k, v in sorted(self.by_market.items())}
        return out


def cost_of_days(by_day: Mapping[str, Mapping[str, int]], card: RateCard) -> Cost:
    total = Cost()
    for day, counters in by_day.items():
        total.merge(Cost().add(day, counters, card))
    return total


def month_cost(phone_number_id: str, month: str) -> Cost:
    """A number's cost in one calendar month (YYYY-MM), from its day items."""
    items = store.days(phone_number_id, f"{month}-01", f"{month}-31")
    return cost_of_days(_by_day(items), rate_card())


# ------------------------------------------------------------------ reports
def _frame(phone_number_id: str, first: str, last: str) -> dict[str, Any]:
    return {"phone_number_id": phone_number_id, "from": first, "to": last}


def funnel(phone_number_id: str, first: str, last: str) -> dict[str, Any]:
    days = day_range(first, last)
    found = _by_day(store.days(phone_number_id, first, last))
    points = [{c: found.get(d, {}).get(c, 0) for c in FUNNEL_COUNTERS} for d in days]
    totals = {c: sum(p[c] for p in points) for c in FUNNEL_COUNTERS}
    series = [{"day": d, **p} for d, p in zip(days, points, strict=True)]
    by_category = {
        name.split("#", 1)[1]: n
        for name, n in sorted(_sum(found.values()).items())
        if name.startswith("priced#")
    }
    return {
        **_frame(phone_number_id, first, last),
        "days": series,
        "totals": totals,
        "by_category": by_category,
        "rates": {
            "delivered": _ratio(totals["delivered"], totals["sent"]),
            "read": _ratio(totals["read"], totals["sent"]),
            "failed": _ratio(totals["failed"], totals["out"]),
            "replied": _ratio(totals["replied"], totals["out"]),
        },
    }


def cost(phone_number_id: str, first: str, last: str) -> dict[str, Any]:
    days = day_range(first, last)
    card = rate_card()
    found = _by_day(store.days(phone_number_id, first, last))
    total = Cost()
    series = []
    for d in days:
        day_cost = Cost().add(d, found.get(d, {}), card)
        total.merge(day_cost)
        series.append({"day": d, **day_cost.as_dict()})
    used = sorted({c.effective for d in days if (c := card.card_at(d)) is not None})
    return {
        **_frame(phone_number_id, first, last),
        "currency": card.currency,
        "rate_cards": used,
        "days": series,
        "totals": total.as_dict(markets=True),
    }


def _rows(
    phone_number_id: str, first: str, last: str, kind: str, counters: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Per template (or campaign): its totals, cost and a dense daily series."""
    days = day_range(first, last)
    card = rate_card()
    grouped: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for item in store.days(phone_number_id, first, last, kind):
        day, _, name = str(item["sk"]).partition("#")
        grouped[name][day] = store.counters(item)
    rows = []
    for name, by_day in sorted(grouped.items()):
        series = []
        for d in days:
            c = by_day.get(d, {})
            series.append({"day": d, **{k: c.get(k, 0) for k in counters}})
        totals: dict[str, Any] = {k: sum(p[k] for p in series) for k in counters}
        spent = cost_of_days(by_day, card)
        totals.update(cost=_money(spent.amount), billable=spent.billable, unpriced=spent.unpriced)
        totals["read_rate"] = _ratio(totals["read"], totals["sent"])
        rows.append({"key": name, "totals": totals, "days": series})
    return rows


def templates(phone_number_id: str, first: str, last: str) -> dict[str, Any]:
    rows = _rows(phone_number_id, first, last, store.TEMPLATE, MESSAGE_COUNTERS)
    items = []
    for row in rows:
        name, _, language = row.pop("key").rpartition("#")
        items.append({"template": name, "language": language, **row})
    return {
        **_frame(phone_number_id, first, last),
        "currency": rate_card().currency,
        "items": items,
    }


def campaigns(phone_number_id: str, first: str, last: str) -> dict[str, Any]:
    rows = _rows(phone_number_id, first, last, store.CAMPAIGN, (*MESSAGE_COUNTERS, "replied"))
    items = [{"campaign_id": row.pop("key"), **row} for row in rows]
    for item in items:
        totals = item["totals"]
        totals["reply_rate"] = _ratio(totals["replied"], totals["out"])
    return {
        **_frame(phone_number_id, first, last),
        "currency": rate_card().currency,
        "items": items,
    }


def _mean_seconds(counters: Mapping[str, int], name: str, subject: str) -> float | None:
    n = counters.get(f"{name}_n#{subject}", 0)
    return round(counters.get(f"{name}_ms#{subject}", 0) / n / 1000, 3) if n else None


def _opened_by_customers(c: Mapping[str, int]) -> int:
    return c.get("opened#customer", 0) + c.get("opened#free_entry_point", 0)


def _contained(c: Mapping[str, int]) -> float | None:
    """Conversations customers opened that no person had to take (handoffs of the
    period counted against them; never below zero)."""
    opened = _opened_by_customers(c)
    return _ratio(max(opened - c.get("handoff", 0), 0), opened)


def _conversation_figures(c: Mapping[str, int]) -> dict[str, Any]:
    opened = _opened_by_customers(c)
    return {
        "opened_customer": c.get("opened#customer", 0),
        "opened_business": c.get("opened#business", 0),
        "opened_free_entry_point": c.get("opened#free_entry_point", 0),
        "handoffs": c.get("handoff", 0),
        "resolved_assistant": c.get("resolved#assistant", 0),
        "resolved_agent": c.get("resolved#agent", 0),
        "resolved_after_handoff": c.get("resolved#handed_off", 0),
        # Of the conversations customers opened, how many reached a person (handoff
        # rate) and how many the assistant carried alone (its resolution rate).
        "assistant_resolution_rate": _contained(c),
        "handoff_rate": _ratio(min(c.get("handoff", 0), opened), opened),
        "first_response_seconds": {
            "assistant": _mean_seconds(c, "frt", "assistant"),
            "agent": _mean_seconds(c, "frt", "agent"),
        },
        "resolution_seconds": {
            "assistant": _mean_seconds(c, "res", "assistant"),
            "agent": _mean_seconds(c, "res", "agent"),
        },
        "satisfaction": {s: c.get(f"csat#{s}", 0) for s in ("good", "ok", "bad")},
    }


def conversations(phone_number_id: str, first: str, last: str) -> dict[str, Any]:
    days = day_range(first, last)
    found = _by_day(store.days(phone_number_id, first, last))
    series = [{"day": d, **_conversation_figures(found.get(d, {}))} for d in days]
    totals = _sum(found.values())
    agents: dict[str, dict[str, Any]] = {}
    for name in totals:
        for prefix in ("frt_n#agent#", "res_n#agent#", "csat#"):
            if name.startswith(prefix) and "#agent#" in name:
                handle = name.split("#agent#", 1)[1]
                agents.setdefault(handle, {})
    for handle in sorted(agents):
        subject = f"agent#{handle}"
        agents[handle] = {
            "resolved": totals.get(f"res_n#{subject}", 0),
            "first_response_seconds": _mean_seconds(totals, "frt", subject),
            "resolution_seconds": _mean_seconds(totals, "res", subject),
            "satisfaction": {
                s: totals.get(f"csat#{s}#{subject}", 0) for s in ("good", "ok", "bad")
            },
        }
    reasons = {n.split("#", 1)[1]: v for n, v in sorted(totals.items()) if n.startswith("handoff#")}
    return {
        **_frame(phone_number_id, first, last),
        "days": series,
        "totals": {**_conversation_figures(totals), "handoff_reasons": reasons},
        "agents": [{"agent": a, **figures} for a, figures in sorted(agents.items())],
    }


def failures(phone_number_id: str, first: str, last: str) -> dict[str, Any]:
    days = day_range(first, last)
    found = _by_day(store.days(phone_number_id, first, last))
    series = []
    for d in days:
        c = found.get(d, {})
        codes = {n.split("#", 1)[1]: v for n, v in sorted(c.items()) if n.startswith("failed#")}
        series.append({"day": d, "failed": c.get("failed", 0), "by_code": codes})
    totals = _sum(found.values())
    by_code = {n.split("#", 1)[1]: v for n, v in totals.items() if n.startswith("failed#")}
    return {
        **_frame(phone_number_id, first, last),
        "days": series,
        "totals": {
            "failed": totals.get("failed", 0),
            "by_code": dict(sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
    }
