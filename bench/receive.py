"""WebhookReceive: CPU per webhook before answering Meta, network excluded.

wacloud: `wacloud.inbound.receive.receive_webhook(body, signature, apps, enqueue, park)` (size
check, X-Hub-Signature-256 HMAC over the raw bytes, JSON parse, duplicate-key check,
split into one item per SQS message, each item re-serialised; with two apps
configured, each item's tenant binding), with an ``enqueue`` that builds the
SendMessageBatch ``Entries`` lists exactly as `wacloud.infra.queues.send_bodies` does before
its first network call (Id, MessageBody, batches of 10 under 240 KiB); nothing is sent.

pywa 4.5: what its own Flask/FastAPI route does for a POST, called directly as pywa
documents for custom servers: `WhatsApp.webhook_update_validator(body, signature)`
(HMAC) then `WhatsApp.webhook_update_handler(body)` (update hash, `RawUpdate` JSON
parse, handler resolution and construction of the typed update, e.g. `Message` /
`MessageStatus`, then the registered callbacks, which are no-ops here). Duplicate
skipping is off, otherwise every repetition after the first would be skipped as a
duplicate. pywa handles only ``entry[0].changes[0]`` of a POST, so for a batch it does
less work than wacloud, which queues every item.

The two do different jobs after parsing (wacloud queues raw items for a worker; pywa
builds typed objects and dispatches in-process), so the ratio says what each pays on
the request path, not which parser is faster.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._common import REPO_ROOT, Context, Row, Table, ensure_import_paths, median_us_per_call

TITLE = "WebhookReceive"
ORDER = 20

PAYLOADS = REPO_ROOT / "tests" / "payloads"
CASES = (
    ("single text message", "message_text.json"),
    ("status (delivered)", "status_delivered.json"),
    ("batch (mixed)", "batch_mixed.json"),
)
TARGET_US = 15.0
APP_SECRET = b"bench-app-secret"
SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 240 * 1024


def _load(name: str) -> bytes:
    """The payload as Meta would send it: compact JSON bytes."""
    return json.dumps(json.loads((PAYLOADS / name).read_text()), separators=(",", ":")).encode()


def _items(body: bytes) -> int:
    """Webhook items in one POST: what wacloud queues as separate SQS messages."""
    ensure_import_paths()
    from wacloud.inbound.split import split_webhook

    return len(split_webhook(json.loads(body)))


def build_entries(bodies: list[str]) -> list[list[dict[str, Any]]]:
    """SendMessageBatch ``Entries`` per call, as `wacloud.infra.queues.send_bodies` builds them
    (its S3 spill applies only above 64 KiB, which no payload here reaches)."""
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for i, body in enumerate(bodies):
        entry_size = len(body.encode())
        if current and (len(current) == SQS_BATCH_ENTRIES or size + entry_size > SQS_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append({"Id": str(i), "MessageBody": body})
        size += entry_size
    if current:
        batches.append(current)
    return batches


def _wacloud_call(body: bytes, *, two_apps: bool = False) -> Callable[[], object]:
    ensure_import_paths()
    from wacloud.inbound.receive import receive_webhook
    from wacloud.inbound.signature import sign
    from wacloud.inbound.tenancy import WebhookApps
    from wacloud.infra.credentials import MetaCredentials

    header = sign(body, APP_SECRET)
    apps = WebhookApps.single(APP_SECRET)
    if two_apps:  # a second tenant with its own app: every item's number is checked
        apps = WebhookApps.from_credentials(
            MetaCredentials.from_json(
                {
                    "app_secret": APP_SECRET.decode(),
                    "tenants": {"999": {"app_secret": "other-app", "waba_id": "998"}},
                }
            )
        )
    sink: list[list[list[dict[str, Any]]]] = []

    def enqueue(bodies: list[str]) -> None:
        sink[:] = [build_entries(bodies)]

    def park(raw: bytes) -> str:
        raise RuntimeError("a corpus payload was parked")

    def call() -> object:
        result = receive_webhook(body, header, apps, enqueue, park)
        if result.status != 200 or result.refused:
            raise RuntimeError(f"wacloud refused the webhook: {result}")
        return result

    return call


def _pywa_client() -> Any:
    from pywa.client import WhatsApp

    # pywa logs through the stdlib; without a handler, warnings would reach stderr.
    log = logging.getLogger("pywa")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    # Its unknown-enum warnings (for the forward-compatibility payloads) would too.
    warnings.filterwarnings("ignore", module=r"pywa\.")
    wa: Any = WhatsApp(
        phone_id="100000000000001",
        token="bench-token",
        app_secret=APP_SECRET.decode(),
        verify_token="bench-verify",
        skip_duplicate_updates=False,
        validate_updates=True,
    )
    wa.on_message()(lambda _client, _msg: None)
    wa.on_message_status()(lambda _client, _status: None)
    return wa


def _pywa_call(wa: Any, body: bytes) -> Callable[[], object]:
    import hashlib
    import hmac

    header = "sha256=" + hmac.new(APP_SECRET, body, hashlib.sha256).hexdigest()

    def call() -> object:
        error = wa.webhook_update_validator(body, header)
        if error is not None:
            raise RuntimeError(f"pywa refused the webhook: {error}")
        return wa.webhook_update_handler(body)

    return call


def run(ctx: Context) -> list[Table]:
    calls = ctx.n(full=2000, quick=300)
    repeats = ctx.n(full=7, quick=3)
    table = Table("WebhookReceive: CPU per webhook (signature + parse + split + SQS entries)")
    wa = _pywa_client()
    for label, name in CASES:
        body = _load(name)
        ours = _wacloud_call(body)
        theirs = _pywa_call(wa, body)
        for fn in (ours, theirs):  # warm caches, lazy imports
            for _ in range(50):
                fn()
        ours_us = median_us_per_call(ours, calls, repeats)
        theirs_us = median_us_per_call(theirs, calls, repeats)
        items = _items(body)
        table.add(
            Row(
                f"{label}, {len(body)} B, {items} item(s) [per POST]",
                ours_us,
                theirs_us,
                target=TARGET_US if items == 1 else None,
                unit="us",
            )
        )
        if items > 1:
            table.add(
                Row(
                    f"{label} [per item; pywa: it handles only the first]",
                    ours_us / items,
                    theirs_us,
                    target=TARGET_US,
                    unit="us",
                )
            )
        bound = _wacloud_call(body, two_apps=True)
        for _ in range(50):
            bound()
        bound_us = median_us_per_call(bound, calls, repeats)
        table.add(
            Row(
                f"{label}, two apps (tenant binding) [per item]",
                bound_us / items,
                theirs_us,
                target=TARGET_US,
                unit="us",
            )
        )
    # Every stored payload once through each, to catch an outlier shape.
    bodies = [_load(p.name) for p in sorted(Path(PAYLOADS).glob("*.json"))]
    ours_all = [_wacloud_call(b) for b in bodies]
    theirs_all = [_pywa_call(wa, b) for b in bodies]

    def all_ours() -> None:
        for fn in ours_all:
            fn()

    def all_theirs() -> None:
        for fn in theirs_all:
            fn()

    all_ours()
    all_theirs()
    per = max(1, calls // len(bodies))
    ours_mean = median_us_per_call(all_ours, per, repeats)
    theirs_mean = median_us_per_call(all_theirs, per, repeats)
    items = sum(_items(b) for b in bodies)
    table.add(
        Row(
            f"all {len(bodies)} tests/payloads [per POST]",
            ours_mean / len(bodies),
            theirs_mean / len(bodies),
            target=None,
            unit="us",
        )
    )
    table.add(
        Row(
            f"all {len(bodies)} tests/payloads [per item, {items} items]",
            ours_mean / items,
            theirs_mean / len(bodies),
            target=TARGET_US,
            unit="us",
        )
    )
    table.notes.append(
        f"Process CPU per call, median of {repeats} repeats of {calls} calls; in-process, "
        "no network. pywa: webhook_update_validator + webhook_update_handler with no-op "
        "on_message/on_message_status handlers (bench/receive.py docstring)."
    )
    table.notes.append(
        "The target is per webhook item: a POST batching n items costs wacloud one "
        "signature check and parse plus n queued items, so [per POST] rows of batches "
        "carry no target and their [per item] rows do. pywa's figure is per POST in "
        "every row, since it handles only the first item of a batch."
    )
    return [table]
