"""`report`: a number's daily aggregates over a day range (docs/analytics.md).

`--from`/`--to` are UTC days (YYYY-MM-DD) or ages (`7d`: seven days ago); by default
the last seven days up to today. Tables show a row per day and a total row (per
template or campaign for those reports); `--json` prints the API's document, which
carries the same figures and more (rates, by category, by market).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from wacloud_cli.app import STATE, NumberOpt, api, command, out, pnid, seg
from wacloud_cli.build import usage
from wacloud_cli.commands._common import Section

section = Section()
report = section.group("report", "Reports: funnel, cost, templates, campaigns, conversations.")

_AGE = re.compile(r"^(\d+)d$")
FromOpt = Annotated[
    str | None, typer.Option("--from", help="First day: YYYY-MM-DD or an age (7d). Default 7d.")
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Last day: YYYY-MM-DD or 0d. Default today.")
]


def day(text: str | None, default_days_ago: int, *, today: dt.date | None = None) -> str:
    """A UTC day from YYYY-MM-DD or an age in days (`0d` is today)."""
    today = today or dt.datetime.now(dt.UTC).date()
    value = (text or f"{default_days_ago}d").strip()
    match = _AGE.match(value)
    if match:
        return (today - dt.timedelta(days=int(match.group(1)))).isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise usage(f"a day is YYYY-MM-DD or an age such as 7d, not {value!r}") from None


def _fetch(kind: str, first: str | None, last: str | None, number: str | None) -> Any:
    path = f"/v1/numbers/{seg(pnid(number))}/reports/{kind}"
    return api().get(path, **{"from": day(first, 7), "to": day(last, 0)})


def _days_table(data: Any, columns: Sequence[str], title: str) -> None:
    if STATE.json or not isinstance(data, dict):
        out().raw(data)
        return
    rows = [p for p in data.get("days") or [] if isinstance(p, dict)]
    totals = data.get("totals")
    if isinstance(totals, dict):
        rows.append({"day": "total", **totals})
    out().items({"items": rows}, ["day", *columns], title=title, empty="no days")


def _per_item_table(data: Any, keys: Sequence[str], columns: Sequence[str], title: str) -> None:
    if STATE.json or not isinstance(data, dict):
        out().raw(data)
        return
    rows = [
        {**{k: item.get(k) for k in keys}, **(item.get("totals") or {})}
        for item in data.get("items") or []
        if isinstance(item, dict)
    ]
    out().items({"items": rows}, [*keys, *columns], title=title, empty="nothing in this range")


@command(report, "funnel", help="Messages in/out, sent, delivered, read, failed, replied per day.")
def report_funnel(from_: FromOpt = None, to: ToOpt = None, number: NumberOpt = None) -> None:
    data = _fetch("funnel", from_, to, number)
    columns = ["in", "out", "sent", "delivered", "read", "played", "failed", "replied"]
    _days_table(data, columns, "funnel")


@command(report, "cost", help="What Meta charges per day (rate card currency), by category.")
def report_cost(from_: FromOpt = None, to: ToOpt = None, number: NumberOpt = None) -> None:
    data = _fetch("cost", from_, to, number)
    currency = data.get("currency") if isinstance(data, dict) else None
    _days_table(data, ["cost", "billable", "unpriced", "by_category"], f"cost ({currency})")


@command(report, "templates", help="Per template and language: funnel and cost.")
def report_templates(from_: FromOpt = None, to: ToOpt = None, number: NumberOpt = None) -> None:
    data = _fetch("templates", from_, to, number)
    columns = ["sent", "delivered", "read", "failed", "read_rate", "billable", "cost"]
    _per_item_table(data, ["template", "language"], columns, "templates")


@command(report, "campaigns", help="Per campaign: funnel, replies and cost.")
def report_campaigns(from_: FromOpt = None, to: ToOpt = None, number: NumberOpt = None) -> None:
    data = _fetch("campaigns", from_, to, number)
    columns = ["sent", "delivered", "read", "failed", "replied", "reply_rate", "cost"]
    _per_item_table(data, ["campaign_id"], columns, "campaigns")


@command(report, "conversations", help="Opened, handoffs, resolutions, times, satisfaction.")
def report_conversations(from_: FromOpt = None, to: ToOpt = None, number: NumberOpt = None) -> None:
    data = _fetch("conversations", from_, to, number)
    columns = [
        "opened_customer",
        "opened_business",
        "opened_free_entry_point",
        "handoffs",
        "resolved_assistant",
        "resolved_agent",
        "first_response_seconds",
        "satisfaction",
    ]
    _days_table(data, columns, "conversations")


@command(report, "failures", help="Failed messages per day by Meta's error code.")
def report_failures(from_: FromOpt = None, to: ToOpt = None, number: NumberOpt = None) -> None:
    data = _fetch("failures", from_, to, number)
    _days_table(data, ["failed", "by_code"], "failures")
