"""Inbound processing: one webhook item in, every consequence recorded exactly once.

Each step is idempotent on its own (conditional writes, forward-only state,
deterministic idempotency keys on replies), so an item that failed half-way is simply
processed again; Powertools Idempotency in the function skips items already finished.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from wacloud.inbound.media import (
    MediaOutcome,
    MediaSource,
    TransientMediaError,
    cache_inbound_media,
    media_body,
)
from wacloud.inbound.responder import IncomingMessage, Reply, Responder
from wacloud.infra.config import settings
from wacloud.infra.privacy import mask_phone
from wacloud.models.webhook.messages import InboundMessage
from wacloud.models.webhook.parse import WebhookFormatError, parse_webhook
from wacloud.models.webhook.updates import (
    ErrorUpdate,
    FieldUpdate,
    MessageUpdate,
    StatusUpdate,
    free_entry_point,
    iter_updates,
    opens_customer_service_window,
)
from wacloud.outbound.messaging_limit import LIMIT_FIELDS, UNLIMITED, announced_limit
from wacloud.store import contacts, messages
from wacloud.store import inbound_log as events
from wacloud.templates.sync import TEMPLATE_FIELDS

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

logger = Logger(child=True)

PARKED_INBOUND_PREFIX = "parked/inbound/"
"""Where items that fail validation are kept (media bucket; see ``_invalid``)."""

OPT_OUT_CONFIRMATION = (
    "You will no longer receive marketing messages from us. Reply START to subscribe again."
)
OPT_IN_CONFIRMATION = "You are subscribed to our updates again. Reply STOP to opt out."


@dataclass(frozen=True, slots=True)
class InboundOptions:
    """What a deployer can switch (environment variables, see docs/inbound.md)."""

    #: MARK_AS_READ: send a read receipt (blue ticks) for every customer message.
    mark_as_read: bool = True
    #: TYPING_INDICATOR: show "typing..." while a reply is on its way. Meta sends it
    #: with the read receipt in one call (§1.2), so it needs MARK_AS_READ too.
    typing_indicator: bool = True

    @classmethod
    def from_env(cls) -> InboundOptions:
        return cls(
            mark_as_read=settings().mark_as_read,
            typing_indicator=settings().typing_indicator,
        )


@dataclass
class InboundEffects:
    """What processing one item did (returned, and stored by Powertools Idempotency)."""

    kind: str
    recorded: bool = False
    replies: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "recorded": self.recorded,
            "replies": self.replies,
            "notes": self.notes,
        }


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
    #: The numbers of a WABA, for portfolio-wide webhooks (messaging limit changes).
    numbers_of_waba: Callable[[str], list[str]] | None = None
    _final_attempt: bool = field(default=False, init=False, repr=False)

    def process(
        self, envelope: dict[str, Any], *, final_attempt: bool = False
    ) -> list[InboundEffects]:
        """Process every update of one (split) webhook.

        ``final_attempt`` is True on the last delivery before the dead-letter queue:
        a transient media failure is then recorded instead of retried.
        """
        try:
            payload = parse_webhook(envelope)
        except WebhookFormatError as exc:
            return [self._invalid(envelope, exc)]
        # An attribute, not an argument: `_message(update)` keeps its signature for
        # code that wraps it (local demos patch it).
        self._final_attempt = final_attempt
        results: list[InboundEffects] = []
        for update in iter_updates(payload):
            if isinstance(update, MessageUpdate):
                results.append(self._message(update))
            elif isinstance(update, StatusUpdate):
                results.append(self._status(update))
            elif isinstance(update, FieldUpdate):
                results.append(self._field(update))
            elif isinstance(update, ErrorUpdate):
                results.append(self._error(update))
        return results

    def _invalid(self, envelope: dict[str, Any], exc: WebhookFormatError) -> InboundEffects:
        """An item our models refuse: parked whole in S3 for inspection, never retried.

        Retrying cannot fix it, and the DLQ would only take it after every retry. The log
        line names the fields and what is wrong, never their values (wacloud.infra.privacy).
        Without a bucket the item cannot be kept here, so a scrubbed error is raised
        instead and the queue keeps it (retries, then the DLQ).
        """
        if self.media_store is None or not self.media_bucket:
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

    # ------------------------------------------------------------------ messages
    def _message(self, update: MessageUpdate) -> InboundEffects:
        effects = InboundEffects("message")
        message = update.message
        pnid = update.phone_number_id or update.waba_id
        wa_id = message.from_ or (update.contact.wa_id if update.contact else None) or "unknown"
        at = float(update.occurred_at)
        profile = update.contact.profile.name if update.contact and update.contact.profile else None
        if update.is_unknown:
            logger.warning(
                "unknown inbound message type recorded as-is",
                extra={"type": message.type, "wamid": message.id},
            )
        # Media first, before anything is written: a transient failure then retries
        # the whole item with nothing half-done (the contact's message counter is not
        # idempotent), and the reply goes out once the media is safe.
        media = self._media(pnid, message, self._final_attempt)
        if media is not None and media.media and media.media.get("sha256"):
            # Before the record: erasing another customer who sent the same content
            # must not delete the object this message refers to (wacloud.erasure).
            from wacloud.store import media_refs

            media_refs.add(str(media.media["sha256"]), pnid, wa_id)
        if opens_customer_service_window(message):
            contacts.record_customer_message(
                pnid,
                wa_id,
                at=at,
                profile_name=profile,
                user_id=update.contact.user_id if update.contact else None,
                window_seconds=settings().window_seconds,
                free_entry_point=free_entry_point(message),
            )
        content = message.model_dump(mode="json", by_alias=True, exclude_none=True)
        effects.recorded = events.record_inbound_message(
            pnid,
            message.id,
            wa_id,
            at,
            {
                "type": message.type,
                "content": content,
                "profile_name": profile,
                **({"media": media.media} if media and media.media else {}),
                **({"media_error": media.error} if media and media.error else {}),
            },
        )
        # Counted on every delivery, not only the one that recorded the message: a
        # Lambda that dies (or times out) between the record and the count would
        # otherwise lose the count for good. count_reply counts a message once.
        if opens_customer_service_window(message):
            from wacloud import campaigns  # a reply to a campaign message counts for it

            campaigns.count_reply(
                pnid, wa_id, at, context_wamid=message.context.id if message.context else None
            )
        if media is not None:
            effects.notes.append("media_stored" if media.media else "media_error")
        text = message.text.body if message.text else None
        reply_id = _reply_id(message)
        keyword = (text or "").strip().upper()
        replies: list[Reply] = []
        opt_out = keyword in settings().opt_out_keywords
        if opt_out or keyword in settings().opt_in_keywords:
            # Applied only if newer than the contact's last consent change (a replay
            # or a late delivery changes nothing, and is not confirmed either).
            if contacts.apply_consent(
                pnid, wa_id, opted_out=opt_out, at=at, reason=f"keyword:{keyword}"
            ):
                body = OPT_OUT_CONFIRMATION if opt_out else OPT_IN_CONFIRMATION
                replies.append({"type": "text", "text": {"body": body}})
                effects.notes.append("opted_out" if opt_out else "opted_in")
            else:
                effects.notes.append("consent_superseded")
        elif opens_customer_service_window(message) and message.type != "reaction":
            replies.extend(
                self.responder.respond(
                    IncomingMessage(
                        phone_number_id=pnid,
                        wa_id=wa_id,
                        wamid=message.id,
                        type=message.type,
                        text=text,
                        reply_id=reply_id,
                        profile_name=profile,
                    )
                )
            )
        if (
            self.mark_read is not None
            and self.options.mark_as_read
            and opens_customer_service_window(message)
        ):
            try:
                self.mark_read(pnid, message.id, self.options.typing_indicator and bool(replies))
            except Exception:  # a read receipt is a courtesy; never lose the reply over it
                logger.exception("mark as read failed", extra={"wamid": message.id})
        if replies:
            self.submit(
                [
                    {
                        "phone_number_id": pnid,
                        # wa_id is international without "+"; Meta prepends the
                        # business's country code to a number without one (§1.1).
                        "to": f"+{wa_id}",
                        **reply,
                        "context": {"message_id": message.id},
                        # Deterministic: reprocessing the same message can never reply twice.
                        "idempotency_key": f"reply:{message.id}:{index}",
                        "tags": ["auto-reply"],
                    }
                    for index, reply in enumerate(replies)
                ]
            )
            effects.replies = len(replies)
        logger.info(
            "inbound message",
            extra={
                "wamid": message.id,
                "type": message.type,
                "from": mask_phone(wa_id),
                "new": effects.recorded,
                "replies": effects.replies,
            },
        )
        return effects

    def _media(
        self, pnid: str, message: InboundMessage, final_attempt: bool
    ) -> MediaOutcome | None:
        """Copy the message's media to S3, or say why not (None: not a media message).

        Why retry transient failures instead of recording them at once: the media id
        lives 7 days at Meta (§1.4) while the queue redelivers for minutes, so waiting
        costs little and usually saves the media; on the final delivery the error is
        recorded and the message kept, so a Meta outage never loses the message.
        """
        found = media_body(message)
        if found is None:
            return None
        if self.media_source is None or self.media_store is None or not self.media_bucket:
            return MediaOutcome(error={"code": "not_configured", "message": "no media bucket"})
        kind, body = found
        errors = [e.model_dump(mode="json", exclude_none=True) for e in message.errors or ()]
        try:
            store = self.media_store() if callable(self.media_store) else self.media_store
            return cache_inbound_media(
                self.media_source,
                store,
                bucket=self.media_bucket,
                phone_number_id=pnid,
                kind=kind,
                body=body,
                message_errors=errors,
            )
        except TransientMediaError as exc:
            if not final_attempt:
                logger.warning(
                    "inbound media unavailable; item will be retried",
                    extra={"wamid": message.id, "error": str(exc)},
                )
                raise
            logger.error(
                "inbound media unavailable on the final attempt; recorded without it",
                extra={"wamid": message.id, "error": str(exc)},
            )
            return MediaOutcome(
                error={"code": "unavailable", "message": str(exc), "transient": True}
            )

    # ------------------------------------------------------------------ statuses
    def _status(self, update: StatusUpdate) -> InboundEffects:
        effects = InboundEffects("status")
        status = update.status
        pnid = update.phone_number_id or update.waba_id
        at = float(update.occurred_at)
        ours, theirs = messages.parse_tracking_callback(status.biz_opaque_callback_data)
        raw = status.model_dump(mode="json", by_alias=True, exclude_none=True)
        effects.recorded = events.record_status(
            pnid,
            status.id,
            status.status,
            at,
            {
                "message_id": ours,
                "recipient_id": status.recipient_id,
                "raw": raw,
                "biz_opaque_callback_data": theirs,
            },
        )
        message_id = ours or messages.message_id_for_wamid(pnid, status.id)
        if message_id is None:
            effects.notes.append("not_our_message")
        else:
            detail: dict[str, Any] | None = None
            if status.errors:
                detail = {
                    "errors": [e.model_dump(mode="json", exclude_none=True) for e in status.errors]
                }
            if status.pricing:
                detail = {
                    **(detail or {}),
                    "pricing": status.pricing.model_dump(mode="json", exclude_none=True),
                }
            moved = messages.apply_status(pnid, message_id, status.status, at, status.id, detail)
            effects.notes.append("advanced" if moved else "kept")
            # On every delivery, like apply_status: a retry after a crash between the
            # record and here must still count (count_status counts a message once).
            from wacloud import campaigns  # per-variant figures of campaign messages

            campaigns.count_status(pnid, message_id, status.status)
        logger.info(
            "status",
            extra={
                "wamid": status.id,
                "status": status.status,
                "message_id": message_id,
                "new": effects.recorded,
            },
        )
        return effects

    # ------------------------------------------------------------------ other fields
    def _field(self, update: FieldUpdate) -> InboundEffects:
        effects = InboundEffects(f"field:{update.field}")
        tenant = update.phone_number_id or update.waba_id
        value = (
            update.value
            if isinstance(update.value, dict)
            else update.value.model_dump(mode="json", by_alias=True, exclude_none=True)
        )
        effects.recorded = events.record_field_event(
            tenant, update.field, update.dedupe_key, float(update.occurred_at), {"value": value}
        )
        if update.field in TEMPLATE_FIELDS:
            from wacloud.templates.sync import apply_template_webhook

            if apply_template_webhook(
                update.waba_id, update.field, value, at=float(update.occurred_at)
            ):
                effects.notes.append("template_mirror_updated")
        if update.field in LIMIT_FIELDS:
            self._messaging_limit(update, value, effects)
        if update.field == "user_preferences" and update.phone_number_id:
            wa_id = value.get("wa_id")
            choice = str(value.get("value", "")).lower()
            if (
                wa_id
                and value.get("category") == "marketing_messages"
                and choice in ("stop", "resume")
            ):
                applied = contacts.apply_consent(
                    update.phone_number_id,
                    wa_id,
                    opted_out=choice == "stop",
                    at=float(update.occurred_at),
                    reason="user_preferences",
                )
                effects.notes.append(f"marketing_{choice}" if applied else "consent_superseded")
        if update.is_unknown:
            logger.warning("unknown webhook field recorded as-is", extra={"field": update.field})
        return effects

    def _messaging_limit(
        self, update: FieldUpdate, value: dict[str, Any], effects: InboundEffects
    ) -> None:
        """Store the portfolio's new messaging limit, shared among the WABA's numbers.

        Meta counts the limit per business portfolio; the sender counts per number
        (store/reach.py), so each number gets an equal share and together they never
        exceed it. (Numbers of the portfolio's other WABAs are not known here.)"""
        limit = announced_limit(value)
        if limit is None:
            return
        numbers = [update.phone_number_id] if update.phone_number_id else []
        if not numbers and update.waba_id and self.numbers_of_waba is not None:
            numbers = self.numbers_of_waba(update.waba_id)
        if not numbers:
            logger.warning(
                "messaging limit announced for a WABA with no configured number",
                extra={"waba_id": update.waba_id, "limit": limit},
            )
            return
        from wacloud.campaigns.pacing import set_messaging_limit

        share = None if limit == UNLIMITED else max(1, limit // len(numbers))
        for pnid in numbers:
            set_messaging_limit(pnid, share)
        effects.notes.append(f"messaging_limit:{limit}")
        logger.info(
            "messaging limit updated", extra={"numbers": numbers, "limit": limit, "each": share}
        )

    def _error(self, update: ErrorUpdate) -> InboundEffects:
        effects = InboundEffects("error")
        tenant = update.phone_number_id or update.waba_id
        error = update.error.model_dump(mode="json", exclude_none=True)
        effects.recorded = events.record_field_event(
            tenant,
            f"{update.field}.errors",
            update.dedupe_key,
            float(update.occurred_at),
            {"error": error},
        )
        logger.warning(
            "webhook carried an error",
            extra={"code": error.get("code"), "title": error.get("title")},
        )
        return effects


def _reply_id(message: Any) -> str | None:
    interactive = message.interactive
    if interactive is not None:
        if interactive.button_reply is not None:
            return str(interactive.button_reply.id)
        if interactive.list_reply is not None:
            return str(interactive.list_reply.id)
    if message.button is not None:
        return str(message.button.payload) if message.button.payload else None
    return None
