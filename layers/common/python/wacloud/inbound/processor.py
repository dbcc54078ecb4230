"""Inbound processing: one webhook item in, each update dispatched to its handler.

One handler per kind of update -- customer messages (inbound/messages.py), statuses
(inbound/statuses.py), other fields and errors (inbound/fields.py) -- each records its
update exactly once and tells the subscribers of its kind (inbound/dispatch.py):
consent (inbound/consent.py) here, the features in the function's ``app.py``. This
module imports no feature: a new capability subscribes, it is not added here.

Each step is idempotent on its own (conditional writes, forward-only state,
deterministic idempotency keys on replies), so an item that failed half-way is simply
processed again; Powertools Idempotency in the function skips items already finished.
The webhook models (pydantic) are imported on the first item, not at cold start.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from wacloud.inbound import consent
from wacloud.inbound.consent import OPT_IN_CONFIRMATION, OPT_OUT_CONFIRMATION
from wacloud.inbound.dispatch import (
    CustomerMessage,
    FieldChange,
    InboundEffects,
    StatusChange,
    Subscribers,
)
from wacloud.inbound.messages import (
    MEDIA_RETRY_KEY,
    InboundOptions,
    MediaCopier,
    MessageHandler,
)
from wacloud.inbound.responder import Responder

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

    from wacloud.inbound.media import MediaSource
    from wacloud.models.webhook.parse import WebhookFormatError

__all__ = [
    "MEDIA_RETRY_KEY",
    "OPT_IN_CONFIRMATION",
    "OPT_OUT_CONFIRMATION",
    "PARKED_INBOUND_PREFIX",
    "CustomerMessage",
    "FieldChange",
    "InboundEffects",
    "InboundOptions",
    "InboundProcessor",
    "StatusChange",
]

logger = Logger(child=True)

PARKED_INBOUND_PREFIX = "parked/inbound/"
"""Where items that fail validation are kept (media bucket; see ``_invalid``)."""


def _heartbeat(phone_number_id: str) -> None:
    """Note that a webhook for the number arrived (the health report's "last webhook
    received"): at most one write a minute per number per container."""
    from wacloud.infra.clock import now
    from wacloud.store.health import note_webhook

    note_webhook(phone_number_id, now())


def _core_subscribers() -> Subscribers:
    subscribers = Subscribers()
    subscribers.on_field("user_preferences")(consent.user_preferences)
    return subscribers


@dataclass
class InboundProcessor:
    responder: Responder
    submit: Callable[[list[dict[str, Any]]], None]
    mark_read: Callable[[str, str, bool], None] | None = None
    options: InboundOptions = field(default_factory=InboundOptions)
    #: Where inbound media is fetched from and copied to (None: media not cached).
    media_source: MediaSource | None = None
    #: The S3 client, or a function that makes it on first use (a cold start need not
    #: create an S3 client, ~70 ms, when no media arrives).
    media_store: S3Client | Callable[[], S3Client] | None = None
    media_bucket: str | None = None
    #: Queue a media retry item on the media retry queue after a delay (inbound/messages.py);
    #: None: a message whose media is not available yet is retried whole by SQS.
    retry_media: Callable[[dict[str, Any], int], None] | None = None
    #: Who is told about recorded updates: register with ``subscribers.on_message``,
    #: ``on_status``, ``on_field(...)``.
    subscribers: Subscribers = field(default_factory=_core_subscribers)

    def process(
        self, envelope: dict[str, Any], *, final_attempt: bool = False
    ) -> list[InboundEffects]:
        """Process every update of one (split) webhook, or a media retry item.

        ``final_attempt`` is True on the last delivery before the dead-letter queue:
        media that still cannot be fetched is then recorded as failed, not retried.
        """
        if MEDIA_RETRY_KEY in envelope:
            return [self._messages().retry(envelope[MEDIA_RETRY_KEY], final_attempt=final_attempt)]
        from wacloud.inbound.fields import handle_error, handle_field
        from wacloud.inbound.statuses import handle_status
        from wacloud.models.webhook.parse import WebhookFormatError, parse_webhook
        from wacloud.models.webhook.updates import (
            ErrorUpdate,
            FieldUpdate,
            MessageUpdate,
            StatusUpdate,
            iter_updates,
        )

        try:
            payload = parse_webhook(envelope)
        except WebhookFormatError as exc:
            return [self._invalid(envelope, exc)]
        results: list[InboundEffects] = []
        messages: MessageHandler | None = None
        for update in iter_updates(payload):
            if update.phone_number_id:
                _heartbeat(update.phone_number_id)
            if isinstance(update, MessageUpdate):
                messages = messages or self._messages()
                results.append(messages(update, final_attempt=final_attempt))
            elif isinstance(update, StatusUpdate):
                results.append(handle_status(update, self.subscribers))
            elif isinstance(update, FieldUpdate):
                results.append(handle_field(update, self.subscribers))
            elif isinstance(update, ErrorUpdate):
                results.append(handle_error(update, self.subscribers))
        return results

    def _messages(self) -> MessageHandler:
        """The message handler with this processor's current settings (made per item:
        tests and local runs swap ``mark_read`` or the media source on the object)."""
        from wacloud.infra.config import settings

        media = None
        if self.media_source is not None and self.media_store is not None and self.media_bucket:
            media = MediaCopier(self.media_source, self.media_store, self.media_bucket)
        return MessageHandler(
            responder=self.responder,
            submit=self.submit,
            subscribers=self.subscribers,
            window_seconds=settings().window_seconds,
            mark_read=self.mark_read,
            options=self.options,
            media=media,
            retry_media=self.retry_media,
        )

    def _invalid(self, envelope: dict[str, Any], exc: WebhookFormatError) -> InboundEffects:
        """An item our models refuse: parked whole in S3 for inspection, never retried.

        Retrying cannot fix it, and the DLQ would only take it after every retry. The log
        line names the fields and what is wrong, never their values (wacloud.infra.privacy).
        Without a bucket the item cannot be kept here, so a scrubbed error is raised
        instead and the queue keeps it (retries, then the DLQ).
        """
        if self.media_store is None or not self.media_bucket:
            from wacloud.models.webhook.parse import WebhookFormatError

            raise WebhookFormatError(str(exc), errors=exc.errors) from None
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        )
        key = f"{PARKED_INBOUND_PREFIX}{hashlib.sha256(body).hexdigest()}.json"
        store = self.media_store() if callable(self.media_store) else self.media_store
        store.put_object(
            Bucket=self.media_bucket, Key=key, Body=body, ContentType="application/json"
        )
        logger.warning(
            "invalid inbound item parked",
            extra={"s3_key": key, "errors": exc.errors, "error": str(exc)},
        )
        return InboundEffects("invalid", recorded=True, notes=[key])
