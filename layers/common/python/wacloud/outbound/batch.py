"""The Sender's SQS batch as a Powertools batch processor (functions/sender/app.py wires it).

One invocation's batch is handled in three steps, on top of Powertools' partial batch
response (a record whose handler raises is reported in `batchItemFailures` and comes
back; the others are deleted):

1. `_prepare`, once per batch: resolve S3-pointer bodies, mark repeats (the same
   submission twice in one batch, e.g. a redelivery next to its delayed copy: handled
   once, the copies would only race for the claim), take the throughput tokens for the
   whole batch (one DynamoDB update per business number), validate every body once
   and read every recipient's contact with one BatchGetItem (`sender.prefetch`).
2. `process`: the records concurrently on a thread pool (sends block on the network,
   not the CPU; threads share one connection pool). Each send is at most once by the
   sender's claim, not by anything here.
3. `_clean`: Powertools' failure report, then the writes the batch collected (wamid
   lookups and pair buckets, one BatchWriteItem: `Prefetched.flush`), then unused
   tokens are refunded, even when the whole batch failed.

Waiting never happens on the original SQS message: a message that must wait (a limit,
Meta's rate limits, a retry backoff, a claim still in flight) is put back as a *copy*
delayed by up to 900 s, and the original is acknowledged. Hiding the original instead
(visibility backoff) would spend one receive per wait, and after the queue's
maxReceiveCount (12) a message that was only ever rate limited would land in the DLQ.
Each copy starts at receive count 1, so only repeated *crashes* on one message reach
the DLQ, which is what the DLQ is for. A copy that turns up twice (the function died
after re-enqueuing but before acknowledging) is harmless: the claim sends it once, and
a copy that arrives before its retry time waits again.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wacloud.infra.aws import sqs
from wacloud.infra.config import settings
from wacloud.infra.privacy import scrub_exception
from wacloud.infra.queues import resolve_body
from wacloud.outbound.ratelimit import MAX_DEFER_SECONDS, ThroughputBudget
from wacloud.outbound.sender import (
    Outcome,
    Prefetched,
    Sender,
    SendResult,
    batch_counts,
    prefetch,
)

logger = Logger(child=True)

# Threads per invocation; a batch is at most 10 (SQS) to 25 (template.yaml) records.
MAX_WORKERS = 32

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

Requeue = Callable[[SQSRecord, int], None]


def requeue(record: SQSRecord, delay: int) -> None:
    """Put a delayed copy of the record back (see the module docstring for why)."""
    cfg = settings()
    sqs().send_message(
        QueueUrl=cfg.require(cfg.outbound_queue_url, "OUTBOUND_QUEUE_URL"),
        MessageBody=record.body,  # as received: an S3 pointer stays a pointer
        DelaySeconds=max(0, min(math.ceil(delay), MAX_DEFER_SECONDS)),
    )


class SendBatchProcessor(BatchProcessor):
    """Powertools' SQS BatchProcessor, with the batch-wide work of the Sender around it.

    Use `record_handler` as the record handler:
    `process_partial_response(event=..., record_handler=p.record_handler, processor=p)`.
    """

    def __init__(
        self,
        sender: Sender,
        metrics: Metrics,
        *,
        requeue: Requeue = requeue,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        super().__init__(event_type=EventType.SQS)
        self.sender = sender
        self.metrics = metrics
        self._requeue = requeue
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="send")
        self._bodies: dict[str, str] = {}
        self._repeats: set[str] = set()
        self._budget: ThroughputBudget | None = None
        self._prefetched = Prefetched()
        # Powertools' Metrics is not thread-safe (it flushes at 100 metrics).
        self._metrics_lock = threading.Lock()

    # ------------------------------------------------------------------ batch steps
    def _prepare(self) -> None:
        super()._prepare()  # type: ignore[no-untyped-call]  # Powertools is untyped here
        self._bodies = {}
        for raw in self.records:
            try:
                self._bodies[raw["messageId"]] = resolve_body(raw["body"])
            except Exception:  # unreadable pointer: the record handler raises for this item
                logger.exception("could not resolve body", extra={"message_id": raw["messageId"]})
        first_of: dict[str, str] = {}
        for message_id, body in self._bodies.items():
            first_of.setdefault(body, message_id)
        self._repeats = {m for m, body in self._bodies.items() if first_of[body] != m}
        unique = [b for m, b in self._bodies.items() if m not in self._repeats]
        self._budget = self.sender.budget()
        self._budget.reserve(batch_counts(unique))
        self._prefetched = prefetch(unique)

    def process(self) -> list[tuple[Any, ...]]:
        """The records concurrently; Powertools collects successes and failures."""
        return list(self._executor.map(self._process_record, self.records))

    def _clean(self) -> None:
        try:
            super()._clean()  # type: ignore[no-untyped-call]
        finally:
            try:
                self._flush()
            finally:
                if self._budget is not None:
                    self._budget.settle()
                self._budget = None
                self._prefetched = Prefetched()

    def _flush(self) -> None:
        """The batch's deferred writes (wamid lookups, pair buckets), one BatchWriteItem.

        Every message's outcome is already recorded by now, so a failure here is logged
        and counted, never reported as the batch's: redelivering the batch could not
        write these and would only find each message finished (docs/outbound.md).
        """
        try:
            self._prefetched.flush()
        except Exception as exc:
            self._count("SenderBatchWriteFailed")
            logger.error("batch writes after the sends failed", extra={"error": type(exc).__name__})

    # ------------------------------------------------------------------ one record
    def record_handler(self, record: SQSRecord) -> str:
        if record.message_id in self._repeats:
            self._count(OUTCOME_METRICS[Outcome.DUPLICATE])
            return Outcome.DUPLICATE.value
        try:
            result = self._send(record)
        except Exception as exc:
            # Left on the queue: SQS redelivers it, and the DLQ takes it after maxReceiveCount.
            self._count("SenderUnexpectedError")
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
        self._record_metrics(result)
        return result.outcome.value

    def _send(self, record: SQSRecord) -> SendResult:
        body = self._bodies.get(record.message_id) or resolve_body(record.body)
        result = self.sender.handle(body, self._budget, self._prefetched)
        if result.retry_in is not None:
            # If this raises, the original stays on the queue and comes back: nothing lost.
            self._requeue(record, result.retry_in)
        return result

    def _count(self, name: str) -> None:
        with self._metrics_lock:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)

    def _record_metrics(self, result: SendResult) -> None:
        self._count(OUTCOME_METRICS[result.outcome])
        rule = result.detail.get("rule") if result.outcome is Outcome.DEFERRED else None
        if rule in DEFERRAL_METRICS:
            self._count(DEFERRAL_METRICS[rule])
        if result.outcome is Outcome.FAILED and result.detail.get("reason") == "outcome_unknown":
            # Given up without knowing whether Meta has it: an operator decides (alarm).
            self._count("OutboundOutcomeUnknown")
        if result.detail.get("recorded") is False:
            # Meta accepted it but recording `sent` failed; the claim is kept (alarm).
            self._count("OutboundUnrecorded")
        if result.outcome is Outcome.AUTH_HOLD:
            self._count("GraphAuthFailure")
        if result.retry_in is not None:
            self._count("OutboundRequeued")
