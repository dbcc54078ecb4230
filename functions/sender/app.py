"""Sender: sends each outbound submission at most once, a batch concurrently (SQS).

Waiting never happens on the original SQS message. A message that must wait (a limit,
Meta's rate limits, a retry backoff, a claim still in flight) is put back on the queue
as a *copy* delayed by up to 900 s, and the original is acknowledged. Hiding the
original instead (visibility backoff) would spend one receive per wait, and after the
queue's maxReceiveCount (12) a message that was only ever rate limited would land in
the DLQ. Each copy starts at receive count 1, so only repeated *crashes* on one message
reach the DLQ, which is what the DLQ is for. A copy that turns up twice (the function
died after re-enqueuing but before acknowledging) is harmless: the message record's
claim sends it once, and a copy that arrives before its retry time waits again.
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.graph.client import GraphClient
from wacloud.infra.aws import sqs
from wacloud.infra.config import settings
from wacloud.infra.credentials import load_credentials
from wacloud.infra.privacy import scrub_exception
from wacloud.infra.queues import resolve_body
from wacloud.outbound.ratelimit import MAX_DEFER_SECONDS, ThroughputBudget
from wacloud.outbound.sender import Outcome, Sender, SendResult, batch_counts

logger = Logger()
metrics = Metrics()
processor = AsyncBatchProcessor(event_type=EventType.SQS)
# Sends block on the network, not the CPU: threads over one shared connection pool.
executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="send")
_cfg = settings()
sender = Sender(
    GraphClient(
        _cfg.graph_api_base_url,
        _cfg.graph_api_version,
        lambda pnid: load_credentials().token_for(pnid),
    ),
    waba_for=lambda pnid: load_credentials().waba_ids().get(pnid),
)

# One metric per outcome, named for dashboards and alarms (CloudWatch, namespace wacloud).
OUTCOME_METRICS: dict[Outcome, str] = {
    Outcome.SENT: "OutboundSent",
    Outcome.DUPLICATE: "OutboundDuplicate",
    Outcome.SCHEDULED: "OutboundScheduled",
    Outcome.REJECTED: "OutboundRejected",
    Outcome.FAILED: "OutboundFailed",
    Outcome.RETRY: "OutboundRetried",
    Outcome.DEFERRED: "OutboundDeferred",
    Outcome.IN_FLIGHT: "OutboundInFlight",
    Outcome.NOT_DUE: "OutboundNotDue",
    Outcome.AUTH_HOLD: "OutboundAuthHold",
    Outcome.CANCELLED: "OutboundCancelled",
}
# Deferrals by the limit that caused them (detail["rule"]).
DEFERRAL_METRICS: dict[str, str] = {
    "throughput": "DeferredThroughput",
    "pair_rate": "DeferredPairRate",
    "messaging_limit": "DeferredMessagingLimit",
    "meta_rate_limit": "DeferredMetaRateLimit",
    "claim_expired": "DeferredClaimExpired",
}


def requeue(record: SQSRecord, delay: int) -> None:
    """Put a delayed copy of the record back (see the module docstring for why)."""
    sqs().send_message(
        QueueUrl=_cfg.require(_cfg.outbound_queue_url, "OUTBOUND_QUEUE_URL"),
        MessageBody=record.body,  # as received: an S3 pointer stays a pointer
        DelaySeconds=max(0, min(math.ceil(delay), MAX_DEFER_SECONDS)),
    )


def _send(record: SQSRecord, body: str, budget: ThroughputBudget) -> SendResult:
    result = sender.handle(body, budget)
    if result.retry_in is not None:
        # If this raises, the original stays on the queue and comes back: nothing lost.
        requeue(record, result.retry_in)
    return result


def _record_metrics(result: SendResult) -> None:
    metrics.add_metric(name=OUTCOME_METRICS[result.outcome], unit=MetricUnit.Count, value=1)
    rule = result.detail.get("rule") if result.outcome is Outcome.DEFERRED else None
    if rule in DEFERRAL_METRICS:
        metrics.add_metric(name=DEFERRAL_METRICS[rule], unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.FAILED and result.detail.get("reason") == "outcome_unknown":
        # Given up without knowing whether Meta has it: an operator decides (alarm).
        metrics.add_metric(name="OutboundOutcomeUnknown", unit=MetricUnit.Count, value=1)
    if result.detail.get("recorded") is False:
        # Meta accepted it but recording `sent` failed; the claim is kept (alarm).
        metrics.add_metric(name="OutboundUnrecorded", unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.AUTH_HOLD:
        metrics.add_metric(name="GraphAuthFailure", unit=MetricUnit.Count, value=1)
    if result.retry_in is not None:
        metrics.add_metric(name="OutboundRequeued", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = event.get("Records") or []
    bodies: dict[str, str] = {}
    for raw in records:
        try:
            bodies[raw["messageId"]] = resolve_body(raw["body"])
        except Exception:  # unreadable pointer: the record handler raises for this item
            logger.exception("could not resolve body", extra={"message_id": raw["messageId"]})
    # The same submission twice in one batch (a redelivery next to its delayed copy) is
    # handled once: the copies would only race each other for the claim.
    first_of: dict[str, str] = {}
    for message_id, body in bodies.items():
        first_of.setdefault(body, message_id)
    repeats = {m for m, body in bodies.items() if first_of[body] != m}
    # Throughput tokens for the whole batch: one DynamoDB update per business number.
    budget = sender.budget()
    budget.reserve(batch_counts(b for m, b in bodies.items() if m not in repeats))

    async def record_handler(record: SQSRecord) -> str:
        if record.message_id in repeats:
            metrics.add_metric(
                name=OUTCOME_METRICS[Outcome.DUPLICATE], unit=MetricUnit.Count, value=1
            )
            return Outcome.DUPLICATE.value
        try:
            body = bodies.get(record.message_id) or resolve_body(record.body)
            result = await asyncio.get_running_loop().run_in_executor(
                executor, _send, record, body, budget
            )
        except Exception as exc:
            # Left on the queue: SQS redelivers it, and the DLQ takes it after maxReceiveCount.
            metrics.add_metric(name="SenderUnexpectedError", unit=MetricUnit.Count, value=1)
            safe = scrub_exception(exc)  # a validation error quotes the submission's values
            if safe is exc:
                logger.exception(
                    "send failed unexpectedly", extra={"message_id": record.message_id}
                )
                raise
            logger.error(
                "send failed unexpectedly",
                extra={"message_id": record.message_id, "error": str(safe)},
            )
            raise safe from None
        _record_metrics(result)
        return result.outcome.value

    try:
        return async_process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        budget.settle()
