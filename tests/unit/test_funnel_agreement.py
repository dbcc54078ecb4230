"""The two roads to a funnel agree (issue #14, "Tests"): the daily aggregates in
DynamoDB (wacloud.analytics, what the API and CLI report) and the event lake's files
read with the shared SQL (wacloud.lake, what Athena runs on AWS and DuckDB here).

One scripted day of facts -- duplicated and out-of-order statuses, a read without its
delivered, a failure, a played voice message, a send before midnight delivered after
it, a pricing-only change, a second number -- goes down both roads, and the second
road gets half of it again as a retried stream batch would. Both must give the same
figures for every number and day, to the unit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.conftest import create_state_table
from tests.unit.lake_support import DAY, PN, PN2, download_all, scripted_day, template_lake
from wacloud import analytics, lake
from wacloud.analytics import alert
from wacloud.infra import aws
from wacloud.lake import duck

# The lake's column -> the aggregates' counter.
COLUMNS = {
    "received": "in",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "played",
    "failed": "failed",
    "replied": "replied",
}
FIRST = "2025-03-13"


def test_aggregates_and_lake_give_the_same_funnel(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    alert._alerted.clear()
    facts = scripted_day()
    with template_lake(monkeypatch) as names:
        create_state_table()
        aws.dynamodb.cache_clear()
        # The Facts function's order: aggregates, then the lake; then a retried batch.
        for batch in (facts, facts[::2]):
            analytics.record_facts(batch)
            lake.deliver(batch)
        download_all(names["bucket"], tmp_path, FIRST, DAY)
        from_lake = duck.query("funnel", tmp_path, FIRST, DAY)
        from_aggregates = [
            {"phone_number_id": number, "day": point["day"]}
            | {column: point[counter] for column, counter in COLUMNS.items()}
            for number in (PN, PN2)
            for point in analytics.funnel(number, FIRST, DAY)["days"]
            if any(point[counter] for counter in COLUMNS.values())
        ]
    aws.dynamodb.cache_clear()
    assert from_lake == from_aggregates
    # And the figures are the scripted day's, not two empty answers agreeing.
    (pn,) = [r for r in from_lake if r["phone_number_id"] == PN and r["day"] == DAY]
    assert pn == {
        "phone_number_id": PN, "day": DAY, "received": 4, "sent": 5, "delivered": 4,
        "read": 3, "played": 1, "failed": 1, "replied": 3,
    }  # fmt: skip
