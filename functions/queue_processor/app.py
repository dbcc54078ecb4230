"""QueueProcessor: every minute (EventBridge), the work that waits for a time.

1. Release scheduled and parked messages that fell due, highest priority first.
2. Housekeeping: lift temporary blocks that are over (also at Meta's Block API,
   `wacloud.moderation.lift_block`), delete expired state.
3. Fan out campaigns, a paced and bounded slice each.
Each step stops at its share of a deadline well inside the timeout, so a backlog is
worked off over several runs instead of timing one out. Campaigns are steered by
their own function, CampaignControl.

Invoked directly (not by the schedule) it also erases a customer (a data-protection
request; README, "Operating"):
`{"erase_customer": {"phone_number_id": "...", "wa_id": "..."}}` -> what was deleted;
`"complete": false` means it stopped at the timeout: invoke it again.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud import campaigns, moderation
from wacloud.infra.config import settings
from wacloud.infra.queues import send_bodies
from wacloud.scheduling.release import housekeeping, release_due

logger = Logger()
metrics = Metrics()

# Seconds of the timeout kept free at the end of a run (commit, metrics, slack).
SAFETY_SECONDS = 15
# Seconds between scheduled runs (the rule's rate). Pacing budgets one period per run;
# only a local stack with sped-up schedules sets it.
PERIOD_SECONDS = settings().queue_processor_period
# Share of the usable time each step may use before the next starts.
RELEASE_SHARE, HOUSEKEEPING_SHARE = 0.4, 0.1


def _queue_url() -> str:
    cfg = settings()
    return cfg.require(cfg.outbound_queue_url, "OUTBOUND_QUEUE_URL")


def _enqueue(bodies: list[str]) -> None:
    send_bodies(_queue_url(), bodies, bucket=settings().media_bucket)


def _enqueue_delayed(bodies: list[str], delay: int) -> None:
    send_bodies(_queue_url(), bodies, delay_seconds=delay, bucket=settings().media_bucket)


def _erase(request: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from wacloud.erasure import erase_customer
    from wacloud.infra.aws import s3

    pnid, wa_id = str(request.get("phone_number_id", "")), str(request.get("wa_id", ""))
    if not pnid.isdigit() or not wa_id.lstrip("+").isdigit():
        raise ValueError("erase_customer needs a numeric phone_number_id and wa_id")
    bucket = settings().media_bucket
    report = erase_customer(
        pnid,
        wa_id,
        media_store=s3() if bucket else None,
        media_bucket=bucket,
        deadline=time.time() + context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS,
    )
    metrics.add_metric(name="CustomerErased", unit=MetricUnit.Count, value=int(report.complete))
    return report.as_dict()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "erase_customer" in event:
        return _erase(event["erase_customer"], context)
    started = time.time()
    usable = max(5.0, context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS)
    deadline = started + usable
    released = release_due(_enqueue, deadline=started + usable * RELEASE_SHARE)
    kept = housekeeping(
        deadline=started + usable * (RELEASE_SHARE + HOUSEKEEPING_SHARE),
        # Blocks that end: at Meta's Block API too, where moderation placed one.
        lift_block=moderation.lift_block,
    )
    fanout = campaigns.run_fanout(_enqueue_delayed, deadline=deadline, run_seconds=PERIOD_SECONDS)
    metrics.add_metric(name="ScheduledReleased", unit=MetricUnit.Count, value=released.released)
    metrics.add_metric(name="ScheduledBacklog", unit=MetricUnit.Count, value=released.backlog)
    metrics.add_metric(name="CampaignQueued", unit=MetricUnit.Count, value=fanout.queued)
    metrics.add_metric(name="CampaignSkipped", unit=MetricUnit.Count, value=fanout.skipped)
    result = {
        "released": released.released,
        "contended": released.contended,
        "backlog": released.backlog,
        "unblocked": kept.unblocked,
        "expired": kept.expired,
        "campaigns": fanout.as_dict(),
        "seconds": round(time.time() - started, 3),
    }
    logger.info("queue processor run", extra=result)
    return result
