"""The public ``Emulator``: wires the engine, the HTTP server and the background workers.

It builds the WSGI app (``app.Api``) from the engine and the fault plan; the HTTP
layer knows neither this class nor its module, so the dependency points one way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import payloads
from .app import Api
from .clock import Clock
from .config import EmulatorConfig
from .core import Core
from .faults import Faults
from .ids import IdFactory
from .models import PhoneNumber, RequestRecord, Template
from .scheduler import Scheduler
from .webhooks import WebhookDispatcher

T = TypeVar("T")


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug logs every request to stderr; the request log lives in ``emu.requests()``.

    TCP_NODELAY: without it Nagle's algorithm and delayed ACKs can hold each small
    response for up to 40 ms, far slower than Meta.
    """

    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class Emulator:
    """A local WhatsApp Cloud API. ``start()`` it, point a client at ``url``.

    Usable as a context manager. All inspection methods return JSON-ready dicts.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = Clock()
        self.ids = IdFactory(self.config.seed)
        self.scheduler = Scheduler()
        self.dispatcher = WebhookDispatcher(
            app_secret=self.config.app_secret,
            url=self.config.webhook_url,
            cfg=self.config.delivery,
            scheduler=self.scheduler,
            ids=self.ids,
            now=self.clock.now,
        )
        self.core = Core(self.config, self.clock, self.scheduler, self.dispatcher, self.ids)
        self.faults = Faults(self.config.seed)
        self.app = Api(self.core, self.faults)
        """The WSGI application, for a server other than ``start()``'s (bench)."""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        self._server = make_server(
            self.config.host,
            self.config.port,
            self.app,
            threaded=True,
            request_handler=_QuietHandler,
        )
        port = self._server.server_port
        self.url = f"http://{self.config.host}:{port}"
        self.core.base_url = self.url
        self.scheduler.start()
        self.dispatcher.start()
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05),
            name="emulator-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.scheduler.stop()
        self.dispatcher.stop()

    def serve_forever(self) -> None:
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ customers
    def customer_sends(
        self,
        wa_id: str,
        message: dict[str, Any],
        *,
        phone_number_id: str | None = None,
        profile_name: str = "Customer",
    ) -> str:
        """A simulated user sends ``message`` (e.g. ``{"type":"text","text":{"body":"hi"}}``).

        Builds Meta's inbound webhook, queues it signed, opens the 24 h window, returns the
        wamid. Media types without an ``id`` get a downloadable placeholder (or pass
        ``"data": b"..."`` and ``"mime_type"`` inside the media object).
        """
        return self.core.customer_sends(
            wa_id, message, phone_number_id=phone_number_id, profile_name=profile_name
        )

    def customer_text(
        self,
        wa_id: str,
        body: str,
        *,
        phone_number_id: str | None = None,
        profile_name: str = "Customer",
    ) -> str:
        return self.customer_sends(
            wa_id,
            {"type": "text", "text": {"body": body}},
            phone_number_id=phone_number_id,
            profile_name=profile_name,
        )

    def customer_button_reply(
        self, wa_id: str, button_id: str, title: str, *, context_id: str | None = None, **kw: Any
    ) -> str:
        msg: dict[str, Any] = {
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": button_id, "title": title},
            },
        }
        if context_id:
            msg["context"] = {"from": self._display(kw.get("phone_number_id")), "id": context_id}
        return self.customer_sends(wa_id, msg, **kw)

    def customer_list_reply(
        self, wa_id: str, row_id: str, title: str, description: str | None = None, **kw: Any
    ) -> str:
        reply: dict[str, Any] = {"id": row_id, "title": title}
        if description is not None:
            reply["description"] = description
        return self.customer_sends(
            wa_id,
            {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": reply}},
            **kw,
        )

    def customer_flow_reply(self, wa_id: str, response_json: str, **kw: Any) -> str:
        return self.customer_sends(
            wa_id,
            {
                "type": "interactive",
                "interactive": {
                    "type": "nfm_reply",
                    "nfm_reply": {"response_json": response_json, "body": "Sent", "name": "flow"},
                },
            },
            **kw,
        )

    def customer_reaction(self, wa_id: str, message_id: str, emoji: str | None, **kw: Any) -> str:
        """``emoji=None`` models a removal: Meta omits the ``emoji`` key
        (docs/meta/webhooks.md#inbound-messages)."""
        reaction: dict[str, Any] = {"message_id": message_id}
        if emoji is not None:
            reaction["emoji"] = emoji
        return self.customer_sends(wa_id, {"type": "reaction", "reaction": reaction}, **kw)

    def _display(self, phone_number_id: str | None) -> str:
        return self.core.phone_number(
            phone_number_id or self.config.phone_number_id
        ).display_phone_number

    def mark_not_on_whatsapp(self, wa_id: str) -> None:
        self.core.set_on_whatsapp(wa_id, False)

    def mark_on_whatsapp(self, wa_id: str) -> None:
        self.core.set_on_whatsapp(wa_id, True)

    # ------------------------------------------------------------------ other webhooks
    def emit(self, field: str, value: dict[str, Any], *, waba_id: str | None = None) -> None:
        self.core.emit(field, value, waba_id=waba_id)

    def user_preferences(
        self,
        wa_id: str,
        value: str,
        *,
        detail: str = "User requested to stop marketing messages",
        phone_number_id: str | None = None,
        profile_name: str = "Customer",
    ) -> None:
        """``value`` is ``stop`` or ``resume`` (docs/meta/webhooks.md#other-fields)."""
        if value not in ("stop", "resume"):
            raise ValueError("value must be 'stop' or 'resume'")
        pn = self.core.phone_number(phone_number_id or self.config.phone_number_id)
        self.core.emit(
            "user_preferences",
            {
                "messaging_product": "whatsapp",
                "metadata": payloads.metadata(pn),
                "contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
                "user_preferences": [
                    {
                        "wa_id": wa_id,
                        "detail": detail,
                        "category": "marketing_messages",
                        "value": value,
                        "timestamp": int(self.clock.now()),
                    }
                ],
            },
            waba_id=pn.waba_id,
        )

    def template_quality_update(
        self, name: str, new_score: str, *, previous: str = "GREEN", language: str = "en_US"
    ) -> None:
        tpl = self._template(name, language)
        self.core.emit(
            "message_template_quality_update",
            {
                "previous_quality_score": previous,
                "new_quality_score": new_score,
                "message_template_id": int(tpl.id),
                "message_template_name": tpl.name,
                "message_template_language": tpl.language,
            },
            waba_id=tpl.waba_id,
        )

    def template_category_update(
        self, name: str, new_category: str, *, language: str = "en_US"
    ) -> None:
        tpl = self._template(name, language)
        with self.core.state.lock:
            tpl.category = new_category.upper()
        self.core.emit(
            "template_category_update",
            {
                "message_template_id": int(tpl.id),
                "message_template_name": tpl.name,
                "message_template_language": tpl.language,
                "new_category": new_category.upper(),
            },
            waba_id=tpl.waba_id,
        )

    def account_update(self, event: str, **extra: Any) -> None:
        self.core.emit("account_update", {"event": event, **extra})

    def phone_number_quality_update(
        self,
        event: str,
        *,
        current_limit: str | None = None,
        phone_number_id: str | None = None,
        **extra: Any,
    ) -> None:
        pn = self.core.phone_number(phone_number_id or self.config.phone_number_id)
        value: dict[str, Any] = {"display_phone_number": pn.display_phone_number, "event": event}
        if current_limit is not None:
            value["current_limit"] = current_limit
        value.update(extra)
        self.core.emit("phone_number_quality_update", value, waba_id=pn.waba_id)

    def call_event(
        self,
        wa_id: str,
        event: str,
        *,
        call_id: str | None = None,
        phone_number_id: str | None = None,
        **extra: Any,
    ) -> str:
        """``calls`` webhook (docs/meta/calling.md): ``event`` is ``connect`` or ``terminate``."""
        pn = self.core.phone_number(phone_number_id or self.config.phone_number_id)
        cid = call_id or ("wacid." + self.ids.token(40))
        call: dict[str, Any] = {
            "id": cid,
            "from": wa_id,
            "to": pn.display_phone_number,
            "event": event,
            "timestamp": str(int(self.clock.now())),
            "direction": "USER_INITIATED",
        }
        call.update(extra)
        self.core.emit(
            "calls",
            {
                "messaging_product": "whatsapp",
                "metadata": payloads.metadata(pn),
                "contacts": [{"profile": {"name": "Customer"}, "wa_id": wa_id}],
                "calls": [call],
            },
            waba_id=pn.waba_id,
        )
        if event == "connect":
            # a user call opens the CSW too (docs/meta/messages.md#customer-service-window)
            with self.core.state.lock:
                self.core.state.user(pn.id, wa_id).last_inbound_at = self.clock.now()
        return cid

    # ------------------------------------------------------------------ templates
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
        """Seed a template directly (no review, no webhook)."""
        return self.core.add_template(
            name,
            language=language,
            category=category,
            components=components,
            body=body,
            status=status,
            parameter_format=parameter_format,
            waba_id=waba_id,
        )

    def set_template_status(
        self, name: str, status: str, *, language: str | None = None, reason: str | None = "NONE"
    ) -> None:
        self.core.set_template_status(name, status, language=language, reason=reason)

    def set_template_review(self, name: str, outcome: str, reason: str = "NONE") -> None:
        """Decide how a template created over HTTP will be reviewed (APPROVED/REJECTED).

        Without an override, names starting with ``reject_`` are rejected.
        """
        self.core.review_overrides[name] = (outcome, reason)

    def templates(self) -> list[dict[str, Any]]:
        with self.core.state.lock:
            return [t.graph() for t in self.core.state.templates.values()]

    def _template(self, name: str, language: str) -> Template:
        with self.core.state.lock:
            for t in self.core.state.templates.values():
                if t.name == name and t.language == language:
                    return t
        raise KeyError(f"no template {name}/{language}")

    # ------------------------------------------------------------------ numbers
    def add_phone_number(
        self, phone_number_id: str, display_phone_number: str, waba_id: str | None = None
    ) -> PhoneNumber:
        return self.core.add_phone_number(phone_number_id, display_phone_number, waba_id)

    def set_throughput(self, mps: int, phone_number_id: str | None = None) -> None:
        self.core.set_throughput(phone_number_id or self.config.phone_number_id, mps)

    def set_webhook_url(self, url: str | None) -> None:
        self.dispatcher.url = url

    # ------------------------------------------------------------------ inspection
    def core_record(self, record: RequestRecord) -> None:
        self.core.record_request(record)

    def requests(self) -> list[dict[str, Any]]:
        return self.core.requests()

    def sent_messages(
        self, phone_number_id: str | None = None, to: str | None = None
    ) -> list[dict[str, Any]]:
        return self.core.sent_messages(phone_number_id, to)

    def webhooks(self) -> list[dict[str, Any]]:
        return self.core.webhooks()

    def webhooks_idle(self) -> bool:
        return self.scheduler.pending() == 0 and self.dispatcher.idle()

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01
    ) -> T:
        """Poll ``predicate`` until it returns something truthy; return that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            time.sleep(interval)
