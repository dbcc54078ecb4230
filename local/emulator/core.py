"""The messaging engine: accepts sends, simulates users, emits webhooks.

HTTP-agnostic so the Python API, the HTTP handlers and the control API share one
implementation. Every public method takes the state lock for its whole decision.

Sync vs async failures (how Meta reports them, docs/meta/messages.md#send, docs/meta/errors.md,
docs/meta/messages.md#customer-service-window):
- Synchronous (error envelope, no wamid): payload validation, auth, throughput 130429,
  pair rate 131056, template existence/status/parameters (132xxx), blocked user 130403,
  recipient == sender 131021.
- Asynchronous (HTTP 200 with a wamid, then a ``failed`` status webhook): recipient not on
  WhatsApp 131026, free-form outside the customer service window 131047, media that cannot
  be fetched 131053, and the messaging limit (code NOT CONFIRMED, see config).
"""

from __future__ import annotations

import copy
from typing import Any

from . import payloads, ratelimit
from .clock import Clock
from .config import EmulatorConfig
from .errors import GraphError, webhook_error
from .ids import IdFactory
from .media import (
    INBOUND_TTL_SECONDS,
    UPLOADED_TTL_SECONDS,
    URL_TTL_SECONDS,
    kind_for_mime,
    sha256_hex,
    url_signature,
    validate_upload,
)
from .models import InboundMessage, Media, PhoneNumber, RequestRecord, SentMessage, Template
from .scheduler import Scheduler
from .state import State
from .templates import check_send
from .validation.message import OutboundMessage, validate_mark_read, validate_outbound
from .webhooks import WebhookDispatcher, WebhookEvent

# mark incoming messages read within 30 days (docs/meta/messages.md#read-receipts)
MARK_READ_MAX_AGE = 30 * 86400
# reactions to messages older than 30 days fail (docs/meta/messages.md#reactions)
REACTION_MAX_AGE = 30 * 86400

# Placeholder bytes for customer media when a test gives none (valid magic numbers).
_PLACEHOLDER: dict[str, tuple[str, bytes]] = {
    "image": ("image/jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 64),
    "video": ("video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64),
    "audio": (
        "audio/ogg; codecs=opus",
        b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead" + b"\x00" * 32,
    ),
    "document": ("application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"\x00" * 64),
    "sticker": ("image/webp", b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32),
}


class Core:
    def __init__(
        self,
        cfg: EmulatorConfig,
        clock: Clock,
        scheduler: Scheduler,
        dispatcher: WebhookDispatcher,
        ids: IdFactory,
    ) -> None:
        self.cfg = cfg
        self.clock = clock
        self.scheduler = scheduler
        self.dispatcher = dispatcher
        self.ids = ids
        self.state = State(cfg=cfg)
        self.base_url = ""
        self.check_media_magic = True
        self.review_overrides: dict[str, tuple[str, str]] = {}
        self.add_phone_number(cfg.phone_number_id, cfg.display_phone_number, cfg.waba_id)

    # ------------------------------------------------------------------ phone numbers
    def add_phone_number(
        self, phone_number_id: str, display_phone_number: str, waba_id: str | None = None
    ) -> PhoneNumber:
        with self.state.lock:
            pn = PhoneNumber(
                id=phone_number_id,
                display_phone_number=display_phone_number,
                waba_id=waba_id or self.cfg.waba_id,
                verified_name=self.cfg.verified_name,
                throughput_mps=self.cfg.throughput_mps,
            )
            pn.business_profile = {
                "about": "",
                "address": "",
                "description": "",
                "email": "",
                "profile_picture_url": "",
                "websites": [],
                "vertical": "OTHER",
            }
            self.state.phone_numbers[phone_number_id] = pn
            return pn

    def phone_number(self, phone_number_id: str) -> PhoneNumber:
        with self.state.lock:
            pn = self.state.phone_numbers.get(phone_number_id)
            if pn is None:
                if not (self.cfg.accept_any_phone_number_id and phone_number_id.isdigit()):
                    # Graph's "object does not exist" family; exact subcode NOT CONFIRMED.
                    raise GraphError(
                        100,
                        f"Unsupported request. Object with ID '{phone_number_id}' does not exist.",
                    )
                display = "1555" + phone_number_id[-7:].rjust(7, "0")
                pn = self.add_phone_number(phone_number_id, display)
            return pn

    def set_throughput(self, phone_number_id: str, mps: int) -> None:
        if not 1 <= mps <= ratelimit.MAX_THROUGHPUT:
            raise ValueError("throughput must be between 1 and 1000 mps (docs/meta/throughput.md)")
        with self.state.lock:
            pn = self.phone_number(phone_number_id)
            pn.throughput_mps = mps
            # HIGH is a 3P-documented level name (docs/meta/account.md#phone-number); only STANDARD
            # is in a Meta example.
            pn.throughput_level = "HIGH" if mps > 80 else "STANDARD"

    # ------------------------------------------------------------------ sending
    def send(self, phone_number_id: str, body: Any, api_version: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise GraphError(100, "Request body must be a JSON object.")
        pn = self.phone_number(phone_number_id)
        if "status" in body:
            return self._mark_read(pn, body)
        msg = validate_outbound(body, pn.display_phone_number)
        now = self.clock.now()
        with self.state.lock:
            if msg.wa_id == pn.display_phone_number:
                raise GraphError(131021, "Recipient cannot be sender.")
            if msg.wa_id in pn.blocklist:
                # docs/meta/account.md#block-users: sending to a user you blocked -> 130403. HTTP
                # status not in ERR-OLD: 400, NOT CONFIRMED. Modelled as synchronous.
                raise GraphError(
                    130403, "Unable to send message: this user is blocked by the business."
                )
            ratelimit.check_throughput(self.state, pn.id, pn.throughput_mps, now)
            new_tat = ratelimit.check_pair(self.state, pn.id, msg.wa_id, now)
            category = None
            if msg.template is not None:
                tpl = self._find_template(pn.waba_id, msg.template.name, msg.template.language)
                check_send(tpl, msg.template, api_version)
                category = tpl.category.lower()
            if msg.reaction_to is not None:
                self._check_reaction_target(msg.reaction_to, now)
            ratelimit.record_throughput(self.state, pn.id, now)
            self.state.pair_tat[(pn.id, msg.wa_id)] = new_tat
            wamid = self.ids.wamid(msg.wa_id)
            sent = SentMessage(
                wamid=wamid,
                phone_number_id=pn.id,
                to=msg.to,
                wa_id=msg.wa_id,
                type=msg.type,
                payload=copy.deepcopy(body),
                time=now,
                api_version=api_version,
                biz_opaque_callback_data=msg.biz_opaque_callback_data,
                template_category=category,
            )
            self.state.sent.append(sent)
            self.state.sent_by_id[wamid] = sent
            failure = self._async_failure(pn, msg, category, now)
            in_window = self.state.in_window(pn.id, msg.wa_id, now)
        if failure is not None:
            code, details = failure
            self.scheduler.call_later(
                self.cfg.status_delays.sent, lambda: self._emit_failed(pn, sent, code, details)
            )
        else:
            self._schedule_statuses(pn, sent, in_window)
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": msg.to, "wa_id": msg.wa_id}],
            "messages": [{"id": wamid}],
        }

    def _async_failure(
        self, pn: PhoneNumber, msg: OutboundMessage, category: str | None, now: float
    ) -> tuple[int, str] | None:
        if msg.wa_id in self.state.not_on_whatsapp:
            return 131026, "Message Undeliverable."
        in_window = self.state.in_window(pn.id, msg.wa_id, now)
        if msg.template is None and not in_window:
            return 131047, (
                "Message failed to send because more than 24 hours have passed "
                "since the customer last replied to this number."
            )
        for ref in msg.media:
            if ref.media_id is not None:
                media = self.state.media.get(ref.media_id)
                if media is None or self._media_expired(media, now):
                    return 131053, f"Media {ref.media_id} could not be found."
                kind = kind_for_mime(media.mime_type)
                if kind != ref.kind and not (ref.kind == "document" and kind == "document"):
                    return 131053, (
                        f"Media {ref.media_id} has MIME type {media.mime_type}, "
                        f"which cannot be sent as {ref.kind}."
                    )
        if (
            category is not None
            and not in_window
            and not ratelimit.messaging_limit_ok(
                self.state, pn.id, msg.wa_id, self.cfg.messaging_limit, now
            )
        ):
            return self.cfg.messaging_limit_error_code, "Messaging limit reached."
        return None

    def _check_reaction_target(self, wamid: str, now: float) -> None:
        """Reacting to an unknown id or one older than 30 days fails
        (docs/meta/messages.md#reactions); Meta's code was not seen (GAP), so the emulator answers
        131009 synchronously."""
        t = None
        if wamid in self.state.inbound:
            t = self.state.inbound[wamid].time
        elif wamid in self.state.sent_by_id:
            t = self.state.sent_by_id[wamid].time
        if t is None or now - t > REACTION_MAX_AGE:
            raise GraphError(
                131009,
                f"Param reaction['message_id'] {wamid} is not a message from the last 30 days.",
            )

    def _schedule_statuses(self, pn: PhoneNumber, sent: SentMessage, in_window: bool) -> None:
        d = self.cfg.status_delays
        conv_id = self.ids.conversation()
        with_conv = _version(self.cfg.webhook_api_version) <= 23
        category = sent.template_category
        price = payloads.pricing(category, in_window)
        expires = int(sent.time) + 86400

        def status(name: str, *, conv_expiry: bool, priced: bool) -> None:
            st: dict[str, Any] = {
                "id": sent.wamid,
                "status": name,
                "timestamp": str(int(self.clock.now())),
                "recipient_id": sent.wa_id,
            }
            if sent.biz_opaque_callback_data is not None:
                st["biz_opaque_callback_data"] = sent.biz_opaque_callback_data
            if with_conv and priced:
                st["conversation"] = payloads.conversation(
                    conv_id, category, expires if conv_expiry else None
                )
            if priced:
                st["pricing"] = dict(price)
            with self.state.lock:
                sent.statuses.append(name)
            self._emit(pn.waba_id, "messages", payloads.statuses_value(pn, [st]))

        self.scheduler.call_later(d.sent, lambda: status("sent", conv_expiry=True, priced=True))
        if sent.type == "reaction":
            return  # a sent reaction gets only ``sent`` (docs/meta/messages.md#reactions)
        # Delivered and read at the same moment -> no ``delivered`` webhook
        # (docs/meta/webhooks.md#statuses).
        skip_delivered = d.auto_read and d.read <= d.delivered
        if not skip_delivered:
            self.scheduler.call_later(
                d.delivered, lambda: status("delivered", conv_expiry=False, priced=True)
            )
        if d.auto_read:
            self.scheduler.call_later(
                d.read, lambda: status("read", conv_expiry=False, priced=skip_delivered)
            )

    def _emit_failed(self, pn: PhoneNumber, sent: SentMessage, code: int, details: str) -> None:
        st: dict[str, Any] = {
            "id": sent.wamid,
            "status": "failed",
            "timestamp": str(int(self.clock.now())),
            "recipient_id": sent.wa_id,
        }
        if sent.biz_opaque_callback_data is not None:
            st["biz_opaque_callback_data"] = sent.biz_opaque_callback_data
        st["errors"] = [webhook_error(code, details)]
        with self.state.lock:
            sent.statuses.append("failed")
        self._emit(pn.waba_id, "messages", payloads.statuses_value(pn, [st]))

    def _mark_read(self, pn: PhoneNumber, body: dict[str, Any]) -> dict[str, Any]:
        wamid, _indicator = validate_mark_read(body)  # typing indicator: no state
        now = self.clock.now()
        with self.state.lock:
            msg = self.state.inbound.get(wamid)
            if msg is None or msg.phone_number_id != pn.id or now - msg.time > MARK_READ_MAX_AGE:
                raise GraphError(
                    131009,
                    f"Param message_id {wamid} is not a valid message id "
                    "received in the last 30 days.",
                )
        return {"success": True}

    # ------------------------------------------------------------------ customers
    def customer_sends(
        self,
        wa_id: str,
        message: dict[str, Any],
        *,
        phone_number_id: str | None = None,
        profile_name: str = "Customer",
    ) -> str:
        pn = self.phone_number(phone_number_id or self.cfg.phone_number_id)
        mtype = message.get("type")
        if not isinstance(mtype, str):
            raise ValueError("message needs a 'type'")
        now = self.clock.now()
        wamid = self.ids.wamid(wa_id)
        body: dict[str, Any] = {
            "from": wa_id,
            "id": wamid,
            "timestamp": str(int(now)),
            "type": mtype,
        }
        for k, v in message.items():
            if k != "type":
                body[k] = copy.deepcopy(v)
        if mtype in _PLACEHOLDER:
            body[mtype] = self._inbound_media(pn, mtype, body.get(mtype) or {}, now)
        if mtype == "unsupported" and "errors" not in body:
            body["errors"] = [
                webhook_error(
                    131051, "Message type is currently not supported.", title="Message type unknown"
                )
            ]
        with self.state.lock:
            user = self.state.user(pn.id, wa_id)
            user.profile_name = profile_name
            if mtype != "system":
                # a user message opens/resets the 24 h CSW
                # (docs/meta/messages.md#customer-service-window)
                user.last_inbound_at = now
            if "referral" in body:
                user.referral_at = now
            # inbound counts too (docs/meta/throughput.md)
            ratelimit.record_throughput(self.state, pn.id, now)
            self.state.inbound[wamid] = InboundMessage(wamid, pn.id, wa_id, now, body)
        self._emit(pn.waba_id, "messages", payloads.inbound_value(pn, wa_id, profile_name, body))
        return wamid

    def _inbound_media(
        self, pn: PhoneNumber, kind: str, obj: dict[str, Any], now: float
    ) -> dict[str, Any]:
        out = dict(obj)
        data = out.pop("data", None)
        if "id" in out:
            return out
        mime, placeholder = _PLACEHOLDER[kind]
        mime = out.get("mime_type", mime)
        raw = data if isinstance(data, bytes) else placeholder
        media = self._store_media(pn.id, mime, raw, now, inbound=True, filename=out.get("filename"))
        result: dict[str, Any] = {}
        if kind == "document":
            result["filename"] = out.pop("filename", "document.pdf")
        result.update({"mime_type": mime, "sha256": media.sha256, "id": media.id})
        if kind == "audio":
            result["voice"] = bool(out.pop("voice", False))
        if kind == "sticker":
            result["animated"] = bool(out.pop("animated", False))
        out.pop("mime_type", None)
        result.update(out)  # caption etc.
        return result

    # ------------------------------------------------------------------ media
    def _store_media(
        self,
        phone_number_id: str,
        mime: str,
        data: bytes,
        now: float,
        *,
        inbound: bool,
        filename: str | None = None,
    ) -> Media:
        with self.state.lock:
            media = Media(
                id=self.ids.numeric("4"),
                phone_number_id=phone_number_id,
                mime_type=mime,
                data=data,
                sha256=sha256_hex(data),
                created_at=now,
                inbound=inbound,
                filename=filename,
            )
            self.state.media[media.id] = media
            self.state.media_ids_issued.add(media.id)
            return media

    def upload_media(
        self, phone_number_id: str, mime: str, data: bytes, filename: str | None
    ) -> Media:
        self.phone_number(phone_number_id)
        validate_upload(mime, data, check_magic=self.check_media_magic)
        return self._store_media(
            phone_number_id, mime, data, self.clock.now(), inbound=False, filename=filename
        )

    def _media_expired(self, media: Media, now: float) -> bool:
        ttl = INBOUND_TTL_SECONDS if media.inbound else UPLOADED_TTL_SECONDS
        return now - media.created_at > ttl

    def get_media(self, media_id: str, phone_number_id: str | None) -> Media | None:
        with self.state.lock:
            media = self.state.media.get(media_id)
            if media is None or self._media_expired(media, self.clock.now()):
                return None
            if phone_number_id is not None and phone_number_id != media.phone_number_id:
                # "succeeds only when it matches the uploading number"
                # (docs/meta/media.md#endpoints); code 100 is the emulator's choice (NOT CONFIRMED).
                raise GraphError(100, "The media does not belong to this phone number.")
            return media

    def media_url(self, media: Media) -> str:
        expires = int(self.clock.now()) + URL_TTL_SECONDS
        sig = url_signature(self.cfg.app_secret, media.id, expires)
        return (
            f"{self.base_url}/whatsapp_business/attachments/?mid={media.id}"
            f"&ext={expires}&hash={sig}"
        )

    def delete_media(self, media_id: str) -> bool:
        with self.state.lock:
            return self.state.media.pop(media_id, None) is not None

    # ------------------------------------------------------------------ templates
    def _find_template(self, waba_id: str, name: str, language: str) -> Template:
        for t in self.state.templates_for(waba_id):
            if t.name == name and t.language == language:
                return t
        raise GraphError(132001, f"template name ({name}) does not exist in {language}")

    def add_template(
        self,
        name: str,
        *,
        language: str = "en_US",
        category: str = "UTILITY",
        components: list[dict[str, Any]] | None = None,
        body: str | None = None,
        status: str = "APPROVED",
        parameter_format: str = "POSITIONAL",
        waba_id: str | None = None,
    ) -> Template:
        comps = (
            components
            if components is not None
            else [{"type": "BODY", "text": body if body is not None else "Hello"}]
        )
        with self.state.lock:
            tpl = Template(
                id=self.ids.numeric("7"),
                waba_id=waba_id or self.cfg.waba_id,
                name=name,
                language=language,
                category=category.upper(),
                components=comps,
                status=status,
                parameter_format=parameter_format.upper(),
                created_at=self.clock.now(),
            )
            self.state.templates[tpl.id] = tpl
            self.state.template_ids.add(tpl.id)
            return tpl

    def set_template_status(
        self,
        name: str,
        status: str,
        *,
        language: str | None = None,
        reason: str | None = "NONE",
        waba_id: str | None = None,
    ) -> None:
        """Change a template's status and announce it (e.g. PAUSED, DISABLED, APPROVED)."""
        waba = waba_id or self.cfg.waba_id
        with self.state.lock:
            hits = [
                t
                for t in self.state.templates_for(waba)
                if t.name == name and (language is None or t.language == language)
            ]
            for t in hits:
                t.status = status
        for t in hits:
            self._emit(
                waba,
                "message_template_status_update",
                payloads.template_status_value(
                    status, t.id, t.name, t.language, t.category, reason
                ),
            )

    def schedule_review(self, tpl: Template) -> None:
        self._emit(
            tpl.waba_id,
            "message_template_status_update",
            payloads.template_status_value(
                "PENDING", tpl.id, tpl.name, tpl.language, tpl.category, "NONE"
            ),
        )
        outcome, reason = self.review_overrides.get(
            tpl.name,
            ("REJECTED", "INVALID_FORMAT")
            if tpl.name.startswith("reject_")
            else ("APPROVED", "NONE"),
        )

        def review() -> None:
            with self.state.lock:
                if tpl.id not in self.state.templates or tpl.status != "PENDING":
                    return
                tpl.status = outcome
                tpl.rejected_reason = reason
            self._emit(
                tpl.waba_id,
                "message_template_status_update",
                payloads.template_status_value(
                    outcome, tpl.id, tpl.name, tpl.language, tpl.category, reason
                ),
            )

        self.scheduler.call_later(self.cfg.template_review_delay, review)

    # ------------------------------------------------------------------ webhooks
    def _emit(self, waba_id: str, field: str, value: dict[str, Any]) -> None:
        self.dispatcher.enqueue(
            WebhookEvent(waba_id=waba_id, field=field, value=value, time=int(self.clock.now()))
        )

    def emit(self, field: str, value: dict[str, Any], *, waba_id: str | None = None) -> None:
        """Queue any webhook change verbatim (for fields the emulator has no helper for)."""
        self._emit(waba_id or self.cfg.waba_id, field, value)

    # ------------------------------------------------------------------ users
    def set_on_whatsapp(self, wa_id: str, on: bool) -> None:
        """Whether ``wa_id`` has WhatsApp (a send to a number without it fails 131026)."""
        with self.state.lock:
            if on:
                self.state.not_on_whatsapp.discard(wa_id)
            else:
                self.state.not_on_whatsapp.add(wa_id)

    # ------------------------------------------------------------------ inspection
    def record_request(self, record: RequestRecord) -> None:
        with self.state.lock:
            self.state.requests.append(record)

    def requests(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [r.to_dict() for r in self.state.requests]

    def sent_messages(
        self, phone_number_id: str | None = None, to: str | None = None
    ) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                m.to_dict()
                for m in self.state.sent
                if (phone_number_id is None or m.phone_number_id == phone_number_id)
                and (to is None or to in (m.to, m.wa_id))
            ]

    def webhooks(self) -> list[dict[str, Any]]:
        return [w.to_dict() for w in self.dispatcher.records()]


def _version(v: str) -> float:
    try:
        return float(v.lstrip("v"))
    except ValueError:
        return 23.0
