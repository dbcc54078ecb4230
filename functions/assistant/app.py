"""AssistantFunction: answers the customer messages queued by AssistantResponder (SQS).

One job per record (wacloud.assistant.worker): the worker decides and acts; this
adapter only parses, counts and reports failures back to SQS (partial batch
response), so a record that fails (DynamoDB, SQS or S3 unavailable) is retried alone
and, after the queue's maxReceiveCount, kept in its dead-letter queue.

Cold start: only Powertools' batch utility and the settings are imported here. The
worker, pydantic models and the openai SDK (heavy) are imported by the first record
(`_worker`); the model client itself is made on the first call that needs it.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wacloud.infra.config import settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from wacloud.assistant import AssistantWorker

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def _worker() -> AssistantWorker:
    from wacloud.assistant import AssistantWorker, default_ports

    return AssistantWorker(default_ports, media_bucket=settings().media_bucket)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    from wacloud.assistant import Job

    try:
        outcome = _worker().handle(Job.from_dict(json.loads(record.body)))
    except Exception as exc:
        # Left on the queue: retried after the visibility timeout, then the DLQ.
        metrics.add_metric(name="AssistantJobFailed", unit=MetricUnit.Count, value=1)
        from wacloud.infra.privacy import scrub_exception

        safe = scrub_exception(exc)  # a validation error would quote the message
        if safe is exc:
            logger.exception("assistant job failed", extra={"sqs_message_id": record.message_id})
            raise
        logger.error(
            "assistant job failed",
            extra={"sqs_message_id": record.message_id, "error": str(safe)},
        )
        raise safe from None
    metrics.add_metric(name=f"Assistant_{outcome.action}", unit=MetricUnit.Count, value=1)
    tokens = outcome.input_tokens + outcome.output_tokens
    if tokens:
        metrics.add_metric(name="AssistantTokens", unit=MetricUnit.Count, value=tokens)
    return outcome.as_dict()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
