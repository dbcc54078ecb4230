"""A stream batch's facts, delivered to the three consumers (docs/facts.md).

The event source mapping (template.yaml, FactsFunction) filters the stream to the
records that can mean a fact, and on a failure bisects the batch, retries, and after
its last retry sends a record of the failed range to FactsDeadLetterQueue
(docs/facts.md, "Failures and redrive").

A batch's facts go to each consumer in one call (one Firehose and one EventBridge
request per batch, not per record): `FactsBatchProcessor._prepare` does that before
Powertools walks the records. If a consumer raises, every record is handled alone
instead (`record_handler`), so only the records whose facts cannot be delivered are
reported failed (their sequence numbers: Lambda retries from the lowest). Consumers
see a fact again then, and on every retry: they are idempotent per fact id.

Each fact is logged as one line ("fact", its type and id; ids carry no customer
number), which is how the local stack's tests and an operator see what was derived.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

# Through the packages, not their functions: a test or a fault injection that replaces
# `events_out.publish` (tests/integration/faults.py) is seen here.
from wacloud import analytics, events_out, lake
from wacloud.models.facts import Fact, MessageStatusChanged
from wacloud.store.changes import facts_of, with_replies

logger = Logger(child=True)

# The dashboard's funnel (docs/operations.md): each step a message newly reached.
FUNNEL_METRICS = {
    "sent": "FunnelSent",
    "delivered": "FunnelDelivered",
    "read": "FunnelRead",
    "played": "FunnelPlayed",
}


def deliver(facts: Sequence[Fact]) -> None:
    """Hand facts to the three consumers; any failure raises (the records are retried)."""
    if not facts:
        return
    analytics.record_facts(facts)
    lake.deliver(facts)
    events_out.publish(facts)


class FactsBatchProcessor(BatchProcessor):
    """Powertools' DynamoDB Streams BatchProcessor, delivering the batch's facts at once.

    Use `record_handler` as the record handler:
    `process_partial_response(event=..., record_handler=p.record_handler, processor=p)`.
    """

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(event_type=EventType.DynamoDBStreams)
        self.metrics = metrics
        self._delivered = False

    def _prepare(self) -> None:
        super()._prepare()  # type: ignore[no-untyped-call]  # Powertools is untyped here
        self._delivered = False
        count = len(self.records)
        self.metrics.add_metric(name="StreamRecords", unit=MetricUnit.Count, value=count)
        try:
            facts = with_replies([fact for record in self.records for fact in facts_of(record)])
            deliver(facts)
        except Exception:
            logger.exception("delivering the batch's facts failed; delivering record by record")
            return
        self._note(facts)
        self._delivered = True

    def record_handler(self, record: DynamoDBRecord) -> None:
        """Nothing once the batch-wide call delivered; else this record's facts alone."""
        if self._delivered:
            return
        facts = with_replies(facts_of(record.raw_event))
        deliver(facts)
        self._note(facts)

    def _note(self, facts: Sequence[Fact]) -> None:
        """Log and count delivered facts (no customer data: a type, an id, the funnel
        steps a status crossed)."""
        for fact in facts:
            crossed = getattr(fact, "crossed", ())
            extra = {"fact_type": fact.type, "fact_id": fact.id}
            logger.info("fact", extra={**extra, **({"crossed": list(crossed)} if crossed else {})})
        for fact_type, count in Counter(fact.type for fact in facts).items():
            self.metrics.add_metric(name=f"Facts.{fact_type}", unit=MetricUnit.Count, value=count)
        self.metrics.add_metric(name="FactsDerived", unit=MetricUnit.Count, value=len(facts))
        self._dashboard(facts)

    def _dashboard(self, facts: Sequence[Fact]) -> None:
        """The funnel and cost as metrics, for the dashboard's charts. A retried batch
        counts again here (metrics have no memory); the aggregates behind the reports
        count each fact once and are the figures to rely on."""
        steps: Counter[str] = Counter()
        cost = 0.0
        for fact in facts:
            if not isinstance(fact, MessageStatusChanged):
                continue
            steps.update(FUNNEL_METRICS[s] for s in fact.crossed if s in FUNNEL_METRICS)
            if fact.status == "failed" and fact.previous != "failed":
                steps["FunnelFailed"] += 1
            cost += analytics.cost_of(fact) or 0.0
        for name, count in steps.items():
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
        if cost:
            self.metrics.add_metric(name="CostAmount", unit=MetricUnit.NoUnit, value=cost)
