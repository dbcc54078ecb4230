"""Customer messages: recorded once, the contact's window opened, the customer answered.

Order of the steps, and why:

1. The media, if any, is copied to S3 first (inbound/media.py). When Meta cannot
   deliver it now (a transient failure) the message does not wait: it is recorded at
   once with ``media_status: pending`` and answered, and a media retry item goes on
   the media retry queue with a delay (``INBOUND_MEDIA_RETRY_SECONDS``, doubled per
   try; its own queue, so it never holds the sender's reconcile, docs/inbound.md).
   The retry only fetches the media and attaches it to the record (a conditional
   update on ``pending``): it never records or answers, so the customer is answered
   once. Its last try marks the media failed with its code, as before. Without a
   retry queue (``retry_media`` None) the whole item is retried by SQS instead, with
   nothing written, and the last delivery records the failure.
2. The contact (window, profile) and the record; each is idempotent on its own.
3. Subscribers (campaign replies...), on every delivery.
4. A consent keyword is confirmed, anything else goes to the responder (with the
   stored media, for voice notes); the read receipt, with the typing indicator when
   replies follow or the responder says an answer is on its way; the replies, with
   deterministic idempotency keys so reprocessing the same message can never reply
   twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from wacloud.inbound import consent
from wacloud.inbound.dispatch import CustomerMessage, InboundEffects, Subscribers
from wacloud.inbound.responder import IncomingMessage, MediaRef, Reply, Responder, as_response
from wacloud.infra.config import DEFAULT_OPT_IN, DEFAULT_OPT_OUT, Settings
from wacloud.infra.privacy import mask_phone
from wacloud.store import contacts, inbound_log

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

    from wacloud.inbound.media import MediaOutcome, MediaSource
    from wacloud.models.webhook.messages import InboundMessage
    from wacloud.models.webhook.updates import MessageUpdate

logger = Logger(child=True)

#: Tries of a media retry item before the media is marked failed; with the default
#: 60 s first delay, doubled each time (SQS caps a delay at 900 s), ~30 minutes.
MEDIA_RETRY_ATTEMPTS = 5
MAX_SQS_DELAY_SECONDS = 900
MEDIA_RETRY_KEY = "media_retry"
"""The key of a media retry item's body on the media retry queue."""


@dataclass(frozen=True, slots=True)
class InboundOptions:
    """What a deployer can switch (environment variables, see docs/inbound.md)."""

    #: MARK_AS_READ: send a read receipt (blue ticks) for every customer message.
    mark_as_read: bool = True
    #: TYPING_INDICATOR: show "typing..." while a reply is on its way. Meta sends it
    #: with the read receipt in one call (docs/meta/messages.md#read-receipts), so it needs
    #: MARK_AS_READ too.
    typing_indicator: bool = True
    #: OPT_OUT_KEYWORDS / OPT_IN_KEYWORDS (inbound/consent.py).
    opt_out_keywords: frozenset[str] = DEFAULT_OPT_OUT
    opt_in_keywords: frozenset[str] = DEFAULT_OPT_IN
    #: Seconds before the first media retry (INBOUND_MEDIA_RETRY_SECONDS).
    media_retry_seconds: int = 60

    @classmethod
    def from_env(cls) -> InboundOptions:
        """The options as the environment sets them now (not cached)."""
        return cls.from_settings(Settings.from_env())

    @classmethod
    def from_settings(cls, cfg: Settings) -> InboundOptions:
        return cls(
            mark_as_read=cfg.mark_as_read,
            typing_indicator=cfg.typing_indicator,
            opt_out_keywords=cfg.opt_out_keywords,
            opt_in_keywords=cfg.opt_in_keywords,
            media_retry_seconds=cfg.media_retry_seconds,
        )


@dataclass(frozen=True, slots=True)
class MediaCopier:
    """Where inbound media is fetched from and copied to."""

    source: MediaSource
    #: The S3 client, or a function that makes it on first use (a cold start need not
    #: create an S3 client, ~70 ms, when no media arrives).
    store: S3Client | Callable[[], S3Client]
    bucket: str

    def copy(self, pnid: str, message: InboundMessage, *, may_wait: bool) -> MediaOutcome | None:
        """Copy the message's media to S3, or say why not (None: not a media message).

        A transient failure raises `TransientMediaError` when ``may_wait`` (the caller
        retries later: the media id lives 7 days at Meta, docs/meta/media.md#endpoints), else it is
        returned as the error ``unavailable`` so the message is kept without its media.
        """
        from wacloud.inbound.media import (
            MediaOutcome,
            TransientMediaError,
            cache_inbound_media,
            media_body,
        )

        found = media_body(message)
        if found is None:
            return None
        kind, body = found
        errors = [e.model_dump(mode="json", exclude_none=True) for e in message.errors or ()]
        try:
            store = self.store() if callable(self.store) else self.store
            return cache_inbound_media(
                self.source,
                store,
                bucket=self.bucket,
                phone_number_id=pnid,
                kind=kind,
                body=body,
                message_errors=errors,
            )
        except TransientMediaError as exc:
            if may_wait:
                logger.warning(
                    "inbound media unavailable for now",
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


def _not_configured(message: InboundMessage) -> MediaOutcome | None:
    from wacloud.inbound.media import MediaOutcome, media_body

    if media_body(message) is None:
        return None
    return MediaOutcome(error={"code": "not_configured", "message": "no media bucket"})


def _media_fields(outcome: MediaOutcome | None) -> dict[str, Any]:
    """The record's media attributes: ``media`` or ``media_error``, and the status."""
    if outcome is None:
        return {}
    if outcome.media:
        return {"media": outcome.media, "media_status": inbound_log.MEDIA_STORED}
    return {"media_error": outcome.error, "media_status": inbound_log.MEDIA_FAILED}


def _reference(outcome: MediaOutcome | None, pnid: str, wa_id: str) -> None:
    """Before the record refers to the object: erasing another customer who sent the
    same content must not delete the object this message refers to (wacloud.erasure)."""
    if outcome is not None and outcome.media and outcome.media.get("sha256"):
        from wacloud.store import media_refs

        media_refs.add(
            str(outcome.media["sha256"]),
            pnid,
            wa_id,
            mime_type=outcome.media.get("mime_type"),
            kind=outcome.media.get("kind"),
        )


@dataclass
class MessageHandler:
    responder: Responder
    submit: Callable[[list[dict[str, Any]]], None]
    subscribers: Subscribers
    window_seconds: int
    mark_read: Callable[[str, str, bool], None] | None = None
    options: InboundOptions = field(default_factory=InboundOptions)
    media: MediaCopier | None = None
    #: Queue a media retry item (its body) after ``delay`` seconds; None: SQS retries
    #: the whole item instead (see the module docstring).
    retry_media: Callable[[dict[str, Any], int], None] | None = None

    def __call__(self, update: MessageUpdate, *, final_attempt: bool) -> InboundEffects:
        from wacloud.inbound.media import MediaOutcome, TransientMediaError
        from wacloud.models.webhook.updates import free_entry_point, opens_customer_service_window

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
        pending = False
        if self.media is None:
            media = _not_configured(message)
        else:
            try:
                media = self.media.copy(pnid, message, may_wait=not final_attempt)
            except TransientMediaError:
                if self.retry_media is None:
                    # Retried whole by SQS, nothing written yet (the last delivery
                    # records the failure).
                    raise
                media, pending = MediaOutcome(), True
        _reference(media, pnid, wa_id)
        opens_window = opens_customer_service_window(message)
        if opens_window:
            contacts.record_customer_message(
                pnid,
                wa_id,
                at=at,
                profile_name=profile,
                user_id=update.contact.user_id if update.contact else None,
                window_seconds=self.window_seconds,
                free_entry_point=free_entry_point(message),
                wamid=message.id,
            )
        content = message.model_dump(mode="json", by_alias=True, exclude_none=True)
        media_fields = (
            {"media_status": inbound_log.MEDIA_PENDING} if pending else _media_fields(media)
        )
        effects.recorded = inbound_log.record_inbound_message(
            pnid,
            message.id,
            wa_id,
            at,
            {"type": message.type, "content": content, "profile_name": profile, **media_fields},
        )
        if not effects.recorded and media is not None and not pending:
            # Recorded earlier with its media pending (a retry of an item that died
            # before queuing its media retry): attach what this delivery fetched.
            inbound_log.attach_media(pnid, message.id, **_attach_args(media))
        self.subscribers.publish(
            CustomerMessage(
                pnid,
                wa_id,
                message.id,
                at,
                message.type,
                message.context.id if message.context else None,
                opens_window,
            ),
            effects,
        )
        if pending:
            effects.notes.append("media_pending")
        elif media is not None:
            effects.notes.append("media_stored" if media.media else "media_error")
        self._answer(
            pnid, wa_id, message, profile, opens_window, at, effects, None if pending else media
        )
        if pending:
            # After the answer: the item is done once its retry is queued (a failure
            # here retries the item; the answer's keys make its reply the same one).
            assert self.retry_media is not None
            self.retry_media(
                {
                    MEDIA_RETRY_KEY: {
                        "phone_number_id": pnid,
                        "wa_id": wa_id,
                        "attempt": 1,
                        "message": content,
                    }
                },
                self.options.media_retry_seconds,
            )
        logger.info(
            "inbound message",
            extra={
                "wamid": message.id,
                "type": message.type,
                "from": mask_phone(wa_id),
                "new": effects.recorded,
                "replies": effects.replies,
                "media_pending": pending,
            },
        )
        return effects

    def _answer(
        self,
        pnid: str,
        wa_id: str,
        message: InboundMessage,
        profile: str | None,
        opens_window: bool,
        at: float,
        effects: InboundEffects,
        media: MediaOutcome | None = None,
    ) -> None:
        text = message.text.body if message.text else None
        replies: list[Reply] = []
        pending = False
        choice = consent.keyword_choice(
            text, self.options.opt_out_keywords, self.options.opt_in_keywords
        )
        if choice is not None:
            keyword, opted_out = choice
            confirmation, note = consent.apply_keyword(
                pnid, wa_id, keyword, opted_out=opted_out, at=at
            )
            replies.extend([confirmation] if confirmation else [])
            effects.notes.append(note)
        elif opens_window and message.type != "reaction":
            response = as_response(
                self.responder.respond(
                    IncomingMessage(
                        phone_number_id=pnid,
                        wa_id=wa_id,
                        wamid=message.id,
                        type=message.type,
                        text=text,
                        reply_id=_reply_id(message),
                        profile_name=profile,
                        at=at,
                        media=_media_ref(media),
                        context_wamid=message.context.id if message.context else None,
                    )
                )
            )
            replies.extend(response.replies)
            pending = response.pending
            if pending:
                effects.notes.append("answer_pending")
        if self.mark_read is not None and self.options.mark_as_read and opens_window:
            typing = self.options.typing_indicator and (bool(replies) or pending)
            try:
                self.mark_read(pnid, message.id, typing)
            except Exception:  # a read receipt is a courtesy; never lose the reply over it
                logger.exception("mark as read failed", extra={"wamid": message.id})
        if replies:
            self.submit(
                [
                    {
                        "phone_number_id": pnid,
                        # wa_id is international without "+"; Meta prepends the
                        # business's country code to a number without one
                        # (docs/meta/messages.md#send).
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

    def retry(self, item: dict[str, Any], *, final_attempt: bool) -> InboundEffects:
        """A media retry item: fetch the media of a message recorded with it pending,
        and attach it. Never records nor answers (the message was, once)."""
        from wacloud.inbound.media import TransientMediaError
        from wacloud.models.webhook.messages import InboundMessage

        effects = InboundEffects("media_retry")
        pnid, wa_id = str(item["phone_number_id"]), str(item["wa_id"])
        attempt = int(item.get("attempt", 1))
        message = InboundMessage.model_validate(item["message"])
        last = final_attempt or attempt >= MEDIA_RETRY_ATTEMPTS or self.retry_media is None
        if self.media is None:
            media = _not_configured(message)
        else:
            try:
                media = self.media.copy(pnid, message, may_wait=not last)
            except TransientMediaError:
                assert self.retry_media is not None
                delay = min(MAX_SQS_DELAY_SECONDS, self.options.media_retry_seconds * 2**attempt)
                self.retry_media({MEDIA_RETRY_KEY: {**item, "attempt": attempt + 1}}, delay)
                effects.notes.append("media_pending")
                return effects
        if media is None:
            return effects
        _reference(media, pnid, wa_id)
        effects.recorded = inbound_log.attach_media(pnid, message.id, **_attach_args(media))
        effects.notes.append("media_stored" if media.media else "media_error")
        logger.info(
            "inbound media attached",
            extra={"wamid": message.id, "stored": bool(media.media), "attempt": attempt},
        )
        return effects


def _media_ref(outcome: MediaOutcome | None) -> MediaRef | None:
    """The stored media of the message, for the responder (None if not stored)."""
    media = outcome.media if outcome is not None else None
    if not media or not media.get("s3_key"):
        return None
    return MediaRef(
        bucket=str(media.get("bucket") or ""),
        s3_key=str(media["s3_key"]),
        mime_type=str(media.get("mime_type") or "application/octet-stream"),
    )


def _attach_args(media: MediaOutcome) -> dict[str, Any]:
    return {"media": media.media, "error": None if media.media else media.error}


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
