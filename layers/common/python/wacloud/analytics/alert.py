"""The monthly cost alert: once a number's cost this calendar month passes
COST_MONTHLY_THRESHOLD, tell the operators once (SNS, the AlarmTopic) and emit the
``CostThresholdExceeded`` metric the template's alarm watches.

Once per number and month: a conditional marker (store.analytics.raise_alert_once)
decides which of any concurrent batches sends it. The message carries the business
number id, the month and the figures: no customer data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from wacloud.infra.config import metrics_namespace, settings
from wacloud.store import analytics as store

logger = logging.getLogger(__name__)

METRIC = "CostThresholdExceeded"
# Months already alerted (or found alerted) in this container: no read for them again.
_alerted: set[tuple[str, str]] = set()


def month_of(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m")


def check(phone_number_ids: Iterable[str], at: float) -> list[str]:
    """Check the month of `at` for each number that has just had billable messages
    counted; returns the numbers alerted now. Off when the threshold is 0."""
    threshold = settings().cost_monthly_threshold
    if threshold <= 0:
        return []
    from wacloud.analytics.rate_card import rate_card
    from wacloud.analytics.reports import month_cost

    month = month_of(at)
    alerted = []
    for pnid in sorted(set(phone_number_ids)):
        if (pnid, month) in _alerted:
            continue
        spent = month_cost(pnid, month)
        if spent.amount <= threshold:
            continue
        currency = rate_card().currency
        figures = {"cost": str(spent.amount), "threshold": str(threshold), "currency": currency}
        if store.raise_alert_once(pnid, month, figures):
            try:
                _send(pnid, month, figures)
            except Exception:
                store.forget_alert(pnid, month)  # so the batch's retry sends it
                raise
            alerted.append(pnid)
        _alerted.add((pnid, month))
    return alerted


def _send(pnid: str, month: str, figures: dict[str, str]) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    topic = settings().alarm_topic_arn
    if topic:
        from wacloud.infra.aws import sns

        sns().publish(
            TopicArn=topic,
            Subject=f"wacloud: cost threshold passed for {pnid} in {month}"[:100],
            Message=json.dumps(
                {"alert": METRIC, "phone_number_id": pnid, "month": month, **figures},
                sort_keys=True,
            ),
        )
    with single_metric(name=METRIC, unit=MetricUnit.Count, value=1, namespace=metrics_namespace()):
        pass
    logger.warning(
        "monthly cost threshold passed",
        extra={"phone_number_id": pnid, "month": month, **figures},
    )
