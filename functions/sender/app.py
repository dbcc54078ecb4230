"""Sender: sends each outbound submission at most once, a batch concurrently (SQS)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from wacloud.aws import sqs
from wacloud.config import settings
from wacloud.credentials import load_credentials
from wacloud.graph import GraphClient
from wacloud.queues import resolve_body
from wacloud.sender import Outcome, Sender, SendResult

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
    )
)


class RetryLaterError(Exception):
    """Marks the record failed so SQS redelivers it after the visibility we set."""


def _send(record: SQSRecord) -> SendResult:
    result = sender.handle(resolve_body(record.body))
    if result.retry_in is not None:
        # Backoff through the message's own visibility timeout; never sleep here.
        sqs().change_message_visibility(
            QueueUrl=_cfg.require(_cfg.outbound_queue_url, "OUTBOUND_QUEUE_URL"),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=min(result.retry_in, 43_200),
        )
    return result


async def record_handler(record: SQSRecord) -> str:
    try:
        result = await asyncio.get_running_loop().run_in_executor(executor, _send, record)
    except Exception:
        # Left on the queue: SQS redelivers it, and the DLQ takes it after maxReceiveCount.
        logger.exception("send failed unexpectedly", extra={"message_id": record.message_id})
        metrics.add_metric(name="SenderUnexpectedError", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=f"Message_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.AUTH_HOLD:
        metrics.add_metric(name="GraphAuthFailure", unit=MetricUnit.Count, value=1)
    if result.retry_in is not None:
        raise RetryLaterError(f"{result.outcome.value}: retry in {result.retry_in}s")
    return result.outcome.value


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
