"""KnowledgeIndexer: keeps a tenant's knowledge index in line with its documents (SQS).

The media bucket sends an S3 event notification to KnowledgeQueue for every object
created or removed under the knowledge prefix (template.yaml); each SQS message holds
one notification, whose ``Records`` may name several objects. Every named document is
indexed or removed by `wacloud.knowledge` (which checks the bucket rather than trusting
the event's type: deliveries are at least once and unordered).

What is retried and what is not: a document that cannot be indexed as given (a type we
do not read, over a size cap, not UTF-8, a CSV without question/answer columns) is
logged and skipped, since the same bytes fail the same way every time; an unreadable
message or an event for another bucket is logged and dropped. Anything else (OpenAI or
S3 unavailable, rate limits) fails the SQS record, which comes back after the
visibility timeout and ends in KnowledgeDeadLetterQueue after maxReceiveCount.

``s3:TestEvent`` (sent once when the notification is configured) is ignored.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.infra.config import settings
from wacloud.knowledge import DocumentError, document_from_key, index_document, remove_document

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def documents_in(body: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """``(phone_number_id, document, created)`` for each of our documents the event
    names, each once (the last event for a document decides ``created``)."""
    cfg = settings()
    bucket = cfg.require(cfg.media_bucket, "MEDIA_BUCKET")
    found: dict[tuple[str, str], bool] = {}
    for record in body.get("Records") or []:
        s3 = record.get("s3") or {}
        name = str(record.get("eventName", ""))
        if (s3.get("bucket") or {}).get("name") != bucket:
            logger.warning("knowledge event for another bucket: ignored")
            continue
        key = unquote_plus(str((s3.get("object") or {}).get("key", "")))
        target = document_from_key(key, cfg.knowledge_prefix)
        if target is None or not name.startswith(("ObjectCreated:", "ObjectRemoved:")):
            continue
        found.pop(target, None)
        found[target] = name.startswith("ObjectCreated:")
    return [(pnid, document, created) for (pnid, document), created in found.items()]


def record_handler(record: SQSRecord) -> None:
    try:
        body = json.loads(record.body)
    except ValueError:
        logger.error("knowledge event is not JSON: dropped")
        return
    if not isinstance(body, dict) or body.get("Event") == "s3:TestEvent":
        return
    for pnid, document, created in documents_in(body):
        try:
            result = (index_document if created else remove_document)(pnid, document)
        except DocumentError as exc:
            logger.warning(
                "knowledge document refused",
                extra={"phone_number_id": pnid, "document": document, "reason": str(exc)},
            )
            metrics.add_metric(name="KnowledgeDocumentsRefused", unit=MetricUnit.Count, value=1)
            continue
        metrics.add_metric(
            name=f"KnowledgeDocuments{result.action.capitalize()}", unit=MetricUnit.Count, value=1
        )


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
