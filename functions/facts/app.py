"""Facts: the state table's change stream, turned into facts once and handed to the
aggregates, the event lake and the bus (wacloud.models.facts explains why here).

The event source mapping (template.yaml, FactsFunction) filters the stream to the
records that can mean a fact, and on a failure bisects the batch, retries, and after
its last retry sends a record of the failed range to FactsDeadLetterQueue
(docs/facts.md, "Failures and redrive").

A batch's facts go to each consumer in one call (one Firehose and one EventBridge
request per batch, not per record). If a consumer raises, every record is handled
alone instead, so only the records whose facts cannot be delivered are reported
failed (their sequence numbers: Lambda retries from the lowest). Consumers see a
fact again then, and on every retry: they are idempotent per fact id.

Each fact is logged as one line ("fact", its type and id; ids carry no customer
number), which is how the local stack's tests and an operator see what was derived.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud import analytics, events_out, lake
from wacloud.models.facts import Fact
from wacloud.store.changes import facts_of

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def deliver(facts: Sequence[Fact]) -> None:
    """Hand facts to the three consumers; any failure raises (the records are retried)."""
    if not facts:
        return
    analytics.record_facts(facts)
    lake.deliver(facts)
    events_out.publish(facts)


def _record_alone(record: DynamoDBRecord) -> None:
    """One record's facts, delivered on their own (after a batch-wide call failed)."""
    facts = facts_of(record.raw_event)
    deliver(facts)
    _note(facts)


def _note(facts: Sequence[Fact]) -> None:
    """Log and count delivered facts (no customer data: a type, an id, the funnel
    steps a status crossed)."""
    for fact in facts:
        crossed = getattr(fact, "crossed", ())
        extra = {"fact_type": fact.type, "fact_id": fact.id}
        logger.info("fact", extra={**extra, **({"crossed": list(crossed)} if crossed else {})})
    for fact_type, count in Counter(fact.type for fact in facts).items():
        metrics.add_metric(name=f"Facts.{fact_type}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="FactsDerived", unit=MetricUnit.Count, value=len(facts))


def _already_delivered(record: DynamoDBRecord) -> None:
    """The batch-wide call delivered every record's facts."""


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = event.get("Records") or []
    handler = _record_alone
    metrics.add_metric(name="StreamRecords", unit=MetricUnit.Count, value=len(records))
    try:
        facts = [fact for record in records for fact in facts_of(record)]
        deliver(facts)
    except Exception:
        logger.exception("delivering the batch's facts failed; delivering record by record")
    else:
        _note(facts)
        handler = _already_delivered
    return process_partial_response(
        event=event, record_handler=handler, processor=processor, context=context
    )
