"""A scripted day end to end: Meta's webhooks (batched, shuffled, each one twice) -> the
inbound processor -> the state table's stream -> the Facts function -> the daily
aggregates -> the reports over the operator API. The funnel and the cost match what
happened, to the unit.

A stack of its own (its numbers' aggregates are this test's alone), configured like
the facts feed's (test_facts_feed.py): the emulator delivers every webhook twice and
out of order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.emulator import WebhookDeliveryConfig
from local.stack import LocalStack, use_stack_in_this_process
from local.waiting import wait_for
from tests.integration.conftest import stack_config
from tests.integration.test_facts_feed import settled
from tests.integration.test_outbound import (
    emulator,
    submit,
    sync_templates,
    template_doc,
    wait_state,
)

pytestmark = pytest.mark.integration
# The shipped card's marketing rate for North America (EUR, from 2026-07-01); the
# `customer` fixture's numbers are +1 numbers.
NORTH_AMERICA_MARKETING = Decimal("0.0207")


@pytest.fixture(scope="module")
def day_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = stack_config(
        tmp_path_factory.mktemp("analytics-stack"),
        stack_name="wacloud-analytics",
        emulator={
            "delivery": WebhookDeliveryConfig(
                batch_size=10, batch_window=0.2, out_of_order=True, duplicate_rate=1.0
            )
        },
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture
def stack(day_stack: LocalStack) -> LocalStack:
    use_stack_in_this_process(day_stack)
    return day_stack


def days() -> dict[str, str]:
    """Yesterday to tomorrow (UTC): the day's facts whatever the clock says at midnight."""
    today = datetime.now(UTC).date()
    return {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }


def test_a_scripted_day_through_the_stack(stack: LocalStack, api: Any, customer: str) -> None:
    emu = emulator(stack)
    promo = f"big_sale_{uuid.uuid4().hex[:8]}"
    emu.add_template(promo, category="MARKETING", body="Sale on {{1}} today")
    sync_templates(stack)
    # A customer writes; the stack answers in the window (a free service message).
    emu.customer_text(customer, "hi")
    # Another customer gets a marketing template outside any window: billed.
    other = str(int(customer) + 1)
    template = submit(template_doc(PNID, other, promo, "shoes"))
    wait_state(PNID, template, ("read",), timeout=60)

    def funnel() -> dict[str, Any] | None:
        response = api("admin").get(f"/v1/numbers/{PNID}/reports/funnel", params=days())
        assert response.status_code == 200, response.text
        totals: dict[str, Any] = response.json()["totals"]
        return totals if totals["read"] >= 2 else None

    wait_for("both messages read in the aggregates", funnel, timeout=90)
    settled(stack)  # every duplicate webhook and its (absent) fact has had its chance

    totals = funnel()
    assert totals == {
        "in": 1,
        "out": 2,
        "sent": 2,
        "delivered": 2,
        "read": 2,
        "played": 0,
        "failed": 0,
        "replied": 0,
    }
    cost = api("admin").get(f"/v1/numbers/{PNID}/reports/cost", params=days()).json()
    assert Decimal(str(cost["totals"]["cost"])) == NORTH_AMERICA_MARKETING
    assert cost["totals"]["billable"] == 1
    assert cost["totals"]["by_market"] == {"North America": float(NORTH_AMERICA_MARKETING)}
    templates = api("admin").get(f"/v1/numbers/{PNID}/reports/templates", params=days()).json()
    (row,) = [t for t in templates["items"] if t["template"] == promo]
    assert (row["totals"]["sent"], row["totals"]["read"]) == (1, 1)
    conversations = (
        api("admin")
        .get(f"/v1/numbers/{PNID}/reports/conversations", params=days())
        .json()["totals"]
    )
    assert (conversations["opened_customer"], conversations["opened_business"]) == (1, 1)
