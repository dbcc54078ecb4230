"""Per-number heartbeats the health report reads (`TENANT#{pnid}`, sk `HEALTH`).

* ``last_webhook_at``: when the InboundProcessor last handled a webhook item for the
  number. Written with one conditional UpdateItem (only if newer), and at most once a
  minute per number per container (`NOTE_EVERY_SECONDS`): a busy number costs one
  write a minute per warm container, not one per message; the figure is therefore up
  to a minute behind, which is nothing next to the hours the check warns at.

A heartbeat is advisory: a failed write is logged (no number, no content) and
forgotten, never the message's failure.
"""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger

from wacloud.infra.dynamo import Expr, batch_get, update
from wacloud.store import tenants

SK = "HEALTH"
NOTE_EVERY_SECONDS = 60.0

logger = Logger(child=True)

_noted: dict[str, float] = {}
_lock = threading.Lock()


def note_webhook(phone_number_id: str, at: float) -> bool:
    """Record that a webhook for the number was handled at `at` (epoch seconds).

    True when this call wrote (or tried to write): False when the number was noted
    less than a minute ago by this container.
    """
    with _lock:
        last = _noted.get(phone_number_id)
        if last is not None and at - last < NOTE_EVERY_SECONDS:
            return False
        _noted[phone_number_id] = at
    expr = Expr().set("last_webhook_at", at)
    newest = expr.name("last_webhook_at")
    expr.when(f"attribute_not_exists({newest}) OR {newest} < {expr.value(at)}")
    try:
        update(tenants.tenant_pk(phone_number_id), SK, expr)
    except Exception as exc:  # advisory: never fail the message for it
        logger.warning("webhook heartbeat not written", extra={"error": exc.__class__.__name__})
    return True


def forget_notes() -> None:
    """Forget what this container noted (tests; a new container starts empty)."""
    with _lock:
        _noted.clear()


def last_webhooks(numbers: list[str]) -> dict[str, float | None]:
    """Each number's `last_webhook_at` (None: never), one BatchGetItem per 100."""
    found = batch_get((tenants.tenant_pk(n), SK) for n in numbers)
    out: dict[str, float | None] = {}
    for number in numbers:
        value = found.get((tenants.tenant_pk(number), SK), {}).get("last_webhook_at")
        out[number] = float(value) if value is not None else None
    return out
