"""The operator API's reports resource (docs/analytics.md, "Reports").

Daily aggregates of one number over a day range (UTC days, both ends included), each a
series with a point per day plus the range's totals, for a console to chart: the
message funnel, cost (rate card currency), templates, campaigns, conversations and
failures by error code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from wacloud import analytics
from wacloud.api.auth import Admin
from wacloud.api.errors import ApiError

router = APIGatewayHttpRouter()
TAGS = ["reports"]

PnidPath = Annotated[str, Path(pattern=r"^[0-9]{1,20}$", description="Phone number id")]
DayQuery = Annotated[
    str,
    Query(
        alias="from",
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        description="First day, YYYY-MM-DD (UTC)",
    ),
]
ToQuery = Annotated[
    str,
    Query(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="Last day, YYYY-MM-DD (UTC)"),
]
RANGE = f"At most {analytics.MAX_DAYS} days; a day without activity is all zeros."


def _report(
    build: Callable[[str, str, str], dict[str, Any]], pnid: str, first: str, last: str
) -> dict[str, Any]:
    try:
        return build(pnid, first, last)
    except analytics.RangeError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc


@router.get(
    "/v1/numbers/<pnid>/reports/funnel",
    summary="Messages in and out, sent, delivered, read, played, failed, replied per day",
    description="Each step counts a message once, however often Meta repeats or reorders "
    "its statuses. `by_category`: messages by Meta's pricing category. " + RANGE,
    tags=TAGS,
)
def funnel_report(pnid: PnidPath, caller: Admin, from_: DayQuery, to: ToQuery) -> dict[str, Any]:
    return _report(analytics.funnel, pnid, from_, to)


@router.get(
    "/v1/numbers/<pnid>/reports/cost",
    summary="What Meta charges per day: billable messages times the rate card",
    description="By category (totals also by market); `unpriced` counts billable messages "
    "the rate card has no rate for. " + RANGE,
    tags=TAGS,
)
def cost_report(pnid: PnidPath, caller: Admin, from_: DayQuery, to: ToQuery) -> dict[str, Any]:
    return _report(analytics.cost, pnid, from_, to)


@router.get(
    "/v1/numbers/<pnid>/reports/templates",
    summary="Per template and language: funnel and cost, totals and per day",
    description=RANGE,
    tags=TAGS,
)
def templates_report(pnid: PnidPath, caller: Admin, from_: DayQuery, to: ToQuery) -> dict[str, Any]:
    return _report(analytics.templates, pnid, from_, to)


@router.get(
    "/v1/numbers/<pnid>/reports/campaigns",
    summary="Per campaign: funnel, replies and cost, totals and per day",
    description=RANGE,
    tags=TAGS,
)
def campaigns_report(pnid: PnidPath, caller: Admin, from_: DayQuery, to: ToQuery) -> dict[str, Any]:
    return _report(analytics.campaigns, pnid, from_, to)


@router.get(
    "/v1/numbers/<pnid>/reports/conversations",
    summary="Conversations opened, handoffs, resolutions, response times, satisfaction",
    description="Mean first-response and resolution times for the assistant and per agent; "
    "assistant resolution and handoff rates. " + RANGE,
    tags=TAGS,
)
def conversations_report(
    pnid: PnidPath, caller: Admin, from_: DayQuery, to: ToQuery
) -> dict[str, Any]:
    return _report(analytics.conversations, pnid, from_, to)


@router.get(
    "/v1/numbers/<pnid>/reports/failures",
    summary="Failed messages per day by Meta's error code",
    description=RANGE,
    tags=TAGS,
)
def failures_report(pnid: PnidPath, caller: Admin, from_: DayQuery, to: ToQuery) -> dict[str, Any]:
    return _report(analytics.failures, pnid, from_, to)
