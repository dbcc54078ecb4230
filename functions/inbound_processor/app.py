"""InboundProcessor: records every webhook item once and answers customers (SQS)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.graph.client import GraphClient
from wacloud.inbound.processor import InboundOptions, InboundProcessor
from wacloud.inbound.responder import configured_responder
from wacloud.inbound.split import item_key
from wacloud.infra.aws import s3
from wacloud.infra.config import settings
from wacloud.infra.credentials import load_credentials
from wacloud.infra.privacy import scrub_exception
from wacloud.infra.queues import ForgedPointerError, resolve_body, submit_many

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

# Meta retries a webhook for up to 7 days (fact sheet §3.8): remember finished items
# a day longer than that.
idempotency_config = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=8 * 86400)
persistence = DynamoDBPersistenceLayer(
    table_name=settings().require(settings().idempotency_table_name, "IDEMPOTENCY_TABLE_NAME")
)


# The inbound queue's maxReceiveCount (template.yaml, InboundQueue RedrivePolicy): on
# that delivery a transient media failure is recorded instead of retried, so the
# message is kept rather than dead-lettered.
MAX_RECEIVE_COUNT = settings().inbound_max_receive_count


@cache
def _graph() -> GraphClient:
    cfg = settings()
    return GraphClient(
        cfg.graph_api_base_url,
        cfg.graph_api_version,
        lambda pnid: load_credentials().token_for(pnid),
        media_hosts=cfg.media_download_hosts,
    )


def _mark_read(phone_number_id: str, wamid: str, typing: bool) -> None:
    _graph().mark_read(phone_number_id, wamid, typing_indicator=typing)


inbound = InboundProcessor(
    responder=configured_responder(),
    submit=submit_many,
    mark_read=_mark_read,
    options=InboundOptions.from_env(),
    media_source=_graph(),
    media_store=s3,  # made on the first media message
    media_bucket=settings().media_bucket,
    numbers_of_waba=lambda waba: [
        pnid for pnid, owner in load_credentials().waba_ids().items() if owner == waba
    ],
)


@idempotent_function(
    data_keyword_argument="item", config=idempotency_config, persistence_store=persistence
)
def process_item(item: dict[str, Any]) -> list[dict[str, Any]]:
    effects = inbound.process(item["envelope"], final_attempt=item.get("final_attempt", False))
    return [e.as_dict() for e in effects]


def _queued_body(record: SQSRecord) -> str:
    """The item's body, fetched from S3 when it was spilled. A pointer this stack did
    not write is refused, never followed: the item fails every delivery and ends in
    the inbound DLQ, kept for inspection and processed by nothing."""
    try:
        return resolve_body(record.body)
    except ForgedPointerError as refused:
        logger.error(
            "queued s3_pointer refused",
            extra={"reason": str(refused), "sqs_message_id": record.message_id},
        )
        metrics.add_metric(name="InboundPointerRefused", unit=MetricUnit.Count, value=1)
        raise


def record_handler(record: SQSRecord) -> list[dict[str, Any]]:
    try:
        envelope = json.loads(_queued_body(record))
        final = int(record.attributes.approximate_receive_count or 1) >= MAX_RECEIVE_COUNT
        results: list[dict[str, Any]] = process_item(
            # Only "key" identifies the item (event_key_jmespath): a redelivery with
            # final_attempt set is still the same item.
            item={"key": item_key(envelope), "envelope": envelope, "final_attempt": final}
        )
    except Exception as exc:
        # Left on the queue: retried after the visibility timeout, then the DLQ.
        metrics.add_metric(name="InboundItemFailed", unit=MetricUnit.Count, value=1)
        safe = scrub_exception(exc)  # a validation error quotes the customer's input
        if safe is exc:
            logger.exception("inbound item failed", extra={"sqs_message_id": record.message_id})
            raise
        logger.error(
            "inbound item failed", extra={"sqs_message_id": record.message_id, "error": str(safe)}
        )
        raise safe from None
    for result in results:
        metrics.add_metric(
            name=f"Inbound_{result['kind'].replace(':', '_')}", unit=MetricUnit.Count, value=1
        )
    return results


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency_config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
