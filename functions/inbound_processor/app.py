"""InboundProcessor: records every webhook item once and answers customers (SQS).

The inbound core (wacloud.inbound) records and answers; the features that follow
inbound updates subscribe here (`register_features`): campaign reply and status
counting, the template mirror, the messaging limit shared among a WABA's numbers.

Cold start: the processor, the webhook models, the Graph client and Powertools
Idempotency are built on the first record, not at import (`_inbound`, `_process_item`).
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

from wacloud.inbound.split import item_key
from wacloud.infra.config import settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from wacloud.graph.client import GraphClient
    from wacloud.inbound import Responder
    from wacloud.inbound.processor import (
        CustomerMessage,
        FieldChange,
        InboundProcessor,
        StatusChange,
    )

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

# Meta retries a webhook for up to 7 days (docs/inbound.md): remember finished items
# a day longer than that.
IDEMPOTENCY_SECONDS = 8 * 86400
# Fail at import, not on the first item, when the function is misconfigured.
IDEMPOTENCY_TABLE = settings().require(settings().idempotency_table_name, "IDEMPOTENCY_TABLE_NAME")


@cache
def _graph() -> GraphClient:
    from wacloud.graph.factory import configured_graph_client

    return configured_graph_client()


def _mark_read(phone_number_id: str, wamid: str, typing: bool) -> None:
    _graph().mark_read(phone_number_id, wamid, typing_indicator=typing)


def _numbers_of_waba(waba_id: str) -> list[str]:
    from wacloud.infra.credentials import load_credentials

    return [pnid for pnid, owner in load_credentials().waba_ids().items() if owner == waba_id]


def _retry_media(body: dict[str, Any], delay: int) -> None:
    """A media retry item, delayed, on the media retry queue this function also consumes
    (inbound/messages.py). Not on the inbound queue: the sender's reconcile waits while
    that queue holds anything, and a media retry can hold it for ~30 minutes."""
    from wacloud.infra.queues import send_bodies

    cfg = settings()
    send_bodies(
        cfg.require(cfg.media_retry_queue_url, "MEDIA_RETRY_QUEUE_URL"),
        [json.dumps(body, separators=(",", ":"))],
        delay_seconds=delay,
        bucket=cfg.media_bucket,
    )


def register_features(
    inbound: InboundProcessor, numbers_of_waba: Callable[[str], list[str]] = _numbers_of_waba
) -> InboundProcessor:
    """Subscribe the features that follow inbound updates. Each is idempotent: it runs on
    every delivery of an item (see wacloud.inbound.dispatch)."""
    from wacloud.outbound.messaging_limit import LIMIT_FIELDS
    from wacloud.templates.sync import TEMPLATE_FIELDS

    subscribers = inbound.subscribers

    @subscribers.on_message
    def count_campaign_reply(message: CustomerMessage) -> str | None:
        if message.opens_window:
            from wacloud import campaigns

            campaigns.count_reply(
                message.phone_number_id,
                message.wa_id,
                message.at,
                context_wamid=message.context_wamid,
            )
        return None

    @subscribers.on_status
    def count_campaign_status(change: StatusChange) -> str | None:
        if change.message_id is not None:
            from wacloud import campaigns

            campaigns.count_status(change.phone_number_id, change.message_id, change.status)
        return None

    @subscribers.on_status
    def count_status(change: StatusChange) -> str | None:
        """Per-status counts of the status webhooks processed (the dashboard); the
        funnel, each message's steps counted once, is the Facts function's."""
        _count(STATUS_METRICS.get(change.status, "InboundStatusOther"))
        return None

    @subscribers.on_field(*TEMPLATE_FIELDS)
    def mirror_template(change: FieldChange) -> str | None:
        from wacloud.templates import apply_template_webhook, template_alerts, webhook_changes

        changed = apply_template_webhook(change.waba_id, change.field, change.value, at=change.at)
        if changed:  # an older webhook, applied after a newer one, is no news
            for alert in template_alerts(None, webhook_changes(change.field, change.value) or {}):
                _count(alert)
        return "template_mirror_updated" if changed else None

    @subscribers.on_field(*LIMIT_FIELDS)
    def share_messaging_limit(change: FieldChange) -> str | None:
        """Store the portfolio's new messaging limit, shared among the WABA's numbers.

        Meta counts the limit per business portfolio; the sender counts per number
        (store/reach.py), so each number gets an equal share and together they never
        exceed it. (Numbers of the portfolio's other WABAs are not known here.)"""
        from wacloud.campaigns.pacing import set_messaging_limit
        from wacloud.outbound.messaging_limit import (
            LIMIT_DOWNGRADED,
            UNLIMITED,
            announced_limit,
            is_lower,
            quality_alerts,
        )

        # Each alert once per webhook, however many numbers share the limit (alarms).
        alerts = quality_alerts(change.field, change.value)
        limit = announced_limit(change.value)
        if limit is None:
            _count(*alerts)
            return None
        numbers = [change.phone_number_id] if change.phone_number_id else []
        if not numbers and change.waba_id:
            numbers = numbers_of_waba(change.waba_id)
        if not numbers:
            logger.warning(
                "messaging limit announced for a WABA with no configured number",
                extra={"waba_id": change.waba_id, "limit": limit},
            )
            _count(*alerts)
            return None
        share = None if limit == UNLIMITED else max(1, limit // len(numbers))
        for pnid in numbers:
            if is_lower(share, set_messaging_limit(pnid, share)):
                alerts.add(LIMIT_DOWNGRADED)
        _count(*alerts)
        logger.info(
            "messaging limit updated", extra={"numbers": numbers, "limit": limit, "each": share}
        )
        return f"messaging_limit:{limit}"

    return inbound


# Status webhooks by status (`InboundStatus<Status>`): Meta's statuses, anything else
# as Other, so a new status cannot add metrics without bound.
STATUS_METRICS = {
    status: f"InboundStatus{status.capitalize()}"
    for status in ("sent", "delivered", "read", "played", "failed", "deleted")
}


def _count(*names: str) -> None:
    for name in names:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def build_responder(replier: Responder | None = None) -> Responder:
    """What answers customers, composed from the inside out.

    ``replier`` is what answers when nothing else has (the RESPONDER setting: menu,
    echo, none). Around it, innermost first:
    - the assistant (wacloud.assistant): for a tenant whose assistant is on, the
      message is queued for the AssistantFunction and the typing indicator shows;
      otherwise the replier answers;
    - the handoff gate (wacloud.conversations): silent while a person has the
      conversation; handoff keywords and the menu's "Talk to a person" hand over
      (before the assistant: a keyword costs no model tokens);
    - moderation (wacloud.moderation), outermost: a contact writing too fast is told
      once, then silenced, and blocked above the spam threshold, before anything else
      answers or spends.
    RESPONDER=none stays silent: nothing answers, so nothing is composed around it.
    """
    from wacloud.assistant import AssistantResponder
    from wacloud.conversations import HandoffGate
    from wacloud.inbound.responder import NoReply, configured_responder
    from wacloud.moderation import ScreenedResponder

    replier = replier if replier is not None else configured_responder()
    if isinstance(replier, NoReply):
        return replier
    return ScreenedResponder(HandoffGate(AssistantResponder(replier)))


@cache
def _inbound() -> InboundProcessor:
    from wacloud.inbound.processor import InboundOptions, InboundProcessor
    from wacloud.infra.aws import s3
    from wacloud.infra.queues import submit_many

    cfg = settings()
    return register_features(
        InboundProcessor(
            responder=build_responder(),
            submit=submit_many,
            mark_read=_mark_read,
            options=InboundOptions.from_settings(cfg),
            media_source=_graph(),
            media_store=s3,  # made on the first media message
            media_bucket=cfg.media_bucket,
            retry_media=_retry_media if cfg.media_retry_queue_url else None,
        )
    )


@cache
def _idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=IDEMPOTENCY_SECONDS)


@cache
def _process_item() -> Callable[..., list[dict[str, Any]]]:
    """`process_item` made idempotent (Powertools) on first use."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        idempotent_function,
    )

    from wacloud.infra.aws import dynamodb

    decorated: Callable[..., list[dict[str, Any]]] = idempotent_function(
        data_keyword_argument="item",
        config=_idempotency_config(),
        # Our DynamoDB client: one client (and connection pool) for the function, not two.
        persistence_store=DynamoDBPersistenceLayer(
            table_name=IDEMPOTENCY_TABLE, boto3_client=dynamodb()
        ),
    )(process_item)
    return decorated


def process_item(item: dict[str, Any]) -> list[dict[str, Any]]:
    effects = _inbound().process(item["envelope"], final_attempt=item.get("final_attempt", False))
    return [e.as_dict() for e in effects]


def _queued_body(record: SQSRecord) -> str:
    """The item's body, fetched from S3 when it was spilled. A pointer this stack did
    not write is refused, never followed: the item fails every delivery and ends in
    the inbound DLQ, kept for inspection and processed by nothing."""
    from wacloud.infra.queues import ForgedPointerError, resolve_body

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
    from wacloud.inbound.processor import MEDIA_RETRY_KEY

    try:
        envelope = json.loads(_queued_body(record))
        # The final SQS delivery (maxReceiveCount, template.yaml): media that still
        # cannot be fetched is then recorded as failed, so the message is kept.
        final = (
            int(record.attributes.approximate_receive_count or 1)
            >= settings().inbound_max_receive_count
        )
        results: list[dict[str, Any]]
        if MEDIA_RETRY_KEY in envelope:
            # Only attaches media to a record, conditionally: safe to repeat, so no
            # idempotency record is needed (two calls fewer).
            results = process_item({"envelope": envelope, "final_attempt": final})
        else:
            results = _process_item()(
                # Only "key" identifies the item (event_key_jmespath): a redelivery with
                # final_attempt set is still the same item.
                item={"key": item_key(envelope), "envelope": envelope, "final_attempt": final}
            )
    except Exception as exc:
        # Left on the queue: retried after the visibility timeout, then the DLQ.
        metrics.add_metric(name="InboundItemFailed", unit=MetricUnit.Count, value=1)
        from wacloud.infra.privacy import scrub_exception  # imports pydantic: not at cold start

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


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    _idempotency_config().register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
