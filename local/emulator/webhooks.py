"""Asynchronous, signed webhook delivery (docs/meta/webhooks.md#signature,
docs/meta/webhooks.md#envelope, docs/meta/webhooks.md#delivery).

Events are queued by the emulator and POSTed by one background worker, so a slow receiver
never slows the API. Each POST body is serialised once and signed over those exact bytes
(``X-Hub-Signature-256: sha256=<hex>``); retries resend the same bytes. Batching, duplicate
redelivery and out-of-order delivery are switchable because Meta documents all three as
possible (docs/meta/webhooks.md#delivery) and receivers must cope.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .config import WebhookDeliveryConfig
from .ids import IdFactory
from .models import WebhookRecord
from .scheduler import Scheduler

# Fields whose entries carry ``time`` and no ``metadata`` (WABA-level,
# docs/meta/webhooks.md#envelope).
WABA_LEVEL_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "message_template_components_update",
        "template_category_update",
        "account_update",
        "account_review_update",
        "account_alerts",
        "business_capability_update",
        "phone_number_quality_update",
        "phone_number_name_update",
    }
)


@dataclass
class WebhookEvent:
    waba_id: str
    field: str
    value: dict[str, Any]
    time: int


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Building an SSL context costs ~0.1 s; share one across emulators (tests start many)."""
    return ssl.create_default_context()


def sign(app_secret: str, body: bytes) -> str:
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def build_body(events: list[WebhookEvent]) -> dict[str, Any]:
    """Group events into Meta's envelope: entry per WABA, change per field/value.

    ``messages``-field values that share a phone number and carry only ``statuses`` are
    merged into one ``statuses`` array (likewise inbound ``messages``), which is how Meta
    batches them (docs/meta/webhooks.md#delivery).
    """
    entries: dict[str, dict[str, Any]] = {}
    for ev in events:
        entry = entries.setdefault(ev.waba_id, {"id": ev.waba_id, "changes": []})
        if ev.field in WABA_LEVEL_FIELDS:
            entry["time"] = ev.time
        merged = False
        if ev.field == "messages":
            for ch in entry["changes"]:
                if ch["field"] != "messages":
                    continue
                val = ch["value"]
                if val.get("metadata") != ev.value.get("metadata"):
                    continue
                if _kind(val) == _kind(ev.value) == "statuses":
                    val["statuses"].extend(ev.value["statuses"])
                    merged = True
                    break
                if _kind(val) == _kind(ev.value) == "messages" and "contacts" in val:
                    val["messages"].extend(ev.value["messages"])
                    known = {c["wa_id"] for c in val["contacts"]}
                    val["contacts"].extend(
                        c for c in ev.value.get("contacts", []) if c["wa_id"] not in known
                    )
                    merged = True
                    break
        if not merged:
            entry["changes"].append({"value": json.loads(json.dumps(ev.value)), "field": ev.field})
    return {"object": "whatsapp_business_account", "entry": list(entries.values())}


def _kind(value: dict[str, Any]) -> str:
    if "statuses" in value and "messages" not in value:
        return "statuses"
    if "messages" in value and "statuses" not in value and "errors" not in value:
        return "messages"
    return "other"


class WebhookDispatcher:
    def __init__(
        self,
        *,
        app_secret: str,
        url: str | None,
        cfg: WebhookDeliveryConfig,
        scheduler: Scheduler,
        ids: IdFactory,
        now: Callable[[], float],
    ) -> None:
        self.app_secret = app_secret
        self.url = url
        self.cfg = cfg
        self._scheduler = scheduler
        self._ids = ids
        self._now = now
        self._cv = threading.Condition()
        self._queue: list[WebhookEvent] = []
        self._records: list[WebhookRecord] = []
        self._outstanding = 0  # queued events + POSTs awaiting a retry
        self._held = False
        self._stopped = False
        self._next_id = 0
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._stopped = False
        self._client = httpx.Client(timeout=self.cfg.timeout, verify=_ssl_context())
        self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._client is not None:
            self._client.close()

    # -- public --------------------------------------------------------------------------
    def enqueue(self, event: WebhookEvent) -> None:
        with self._cv:
            self._queue.append(event)
            self._outstanding += 1
            self._cv.notify_all()

    def hold(self) -> None:
        """Stop sending (events accumulate) so a test can force a batch or a reorder."""
        with self._cv:
            self._held = True

    def release(self) -> None:
        with self._cv:
            self._held = False
            self._cv.notify_all()

    def records(self) -> list[WebhookRecord]:
        with self._cv:
            return list(self._records)

    def idle(self) -> bool:
        with self._cv:
            return self._outstanding == 0

    def clear(self) -> None:
        with self._cv:
            self._records.clear()

    # -- worker ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (self._held or not self._queue):
                    self._cv.wait()
                if self._stopped:
                    return
            if self.cfg.batch_window > 0:
                time.sleep(self.cfg.batch_window)
            with self._cv:
                drained = list(self._queue)
                self._queue.clear()
            if self.cfg.out_of_order and len(drained) > 1:
                drained = self._shuffle(drained)
            size = max(1, min(self.cfg.batch_size, 1000))  # Meta: batches of at most 1000
            for i in range(0, len(drained), size):
                chunk = drained[i : i + size]
                body = json.dumps(build_body(chunk), separators=(",", ":")).encode()
                with self._cv:
                    self._next_id += 1
                    delivery_id = self._next_id
                    # a batch of n events becomes one delivery: count it once
                    self._outstanding -= len(chunk) - 1
                self._attempt(delivery_id, body, 1, duplicate=False)

    def _shuffle(self, events: list[WebhookEvent]) -> list[WebhookEvent]:
        keyed = [(self._ids.random(), i, ev) for i, ev in enumerate(events)]
        keyed.sort()
        return [ev for _, _, ev in keyed]

    def _attempt(self, delivery_id: int, body: bytes, attempt: int, *, duplicate: bool) -> None:
        signature = sign(self.app_secret, body)
        status: int | None = None
        error: str | None = None
        url = self.url
        if url is None:
            error = "no webhook_url configured"
        else:
            try:
                assert self._client is not None
                resp = self._client.post(
                    url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": signature,
                        "User-Agent": "facebookexternalua",
                    },
                )
                status = resp.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        record = WebhookRecord(
            delivery_id=delivery_id,
            url=url,
            body=body,
            json=json.loads(body),
            signature=signature,
            status=status,
            error=error,
            attempt=attempt,
            time=self._now(),
            duplicate=duplicate,
        )
        with self._cv:
            self._records.append(record)
        if duplicate:
            return
        if status == 200:
            if self.cfg.duplicate_rate > 0 and self._ids.random() < self.cfg.duplicate_rate:
                self._attempt(delivery_id, body, attempt, duplicate=True)
            self._done()
            return
        if url is None or attempt >= self.cfg.max_attempts:
            self._done()
            return
        delay = self.cfg.retry_base_delay * (2 ** (attempt - 1))
        self._scheduler.call_later(
            delay, lambda: self._attempt(delivery_id, body, attempt + 1, duplicate=False)
        )

    def _done(self) -> None:
        with self._cv:
            self._outstanding -= 1
            self._cv.notify_all()
