"""Status webhooks: each recorded once, then applied to our message's state.

The status is recorded before it is applied, so a message whose state has reached a
status always has that status in its log (store/inbound_log.py). A message can be
`sent` before its `sent` webhook is recorded, though: the Sender moves it there when
Graph accepts it, and the webhook may still be on the inbound queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from wacloud.inbound.dispatch import InboundEffects, StatusChange, Subscribers
from wacloud.store import inbound_log, messages

if TYPE_CHECKING:
    from wacloud.models.webhook.updates import StatusUpdate

logger = Logger(child=True)


def handle_status(update: StatusUpdate, subscribers: Subscribers) -> InboundEffects:
    effects = InboundEffects("status")
    status = update.status
    pnid = update.phone_number_id or update.waba_id
    at = float(update.occurred_at)
    ours, theirs = messages.parse_tracking_callback(status.biz_opaque_callback_data)
    raw = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    effects.recorded = inbound_log.record_status(
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
    # On every delivery, like apply_status: a retry after a crash between the record
    # and a subscriber must still reach it (subscribers are idempotent).
    subscribers.publish(StatusChange(pnid, status.id, message_id, status.status, at), effects)
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
