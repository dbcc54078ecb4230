"""Other webhook fields (templates, account, quality, preferences...) and errors.

Each is recorded once (store/inbound_log.py, keyed by a content hash) and handed to
its subscribers: consent for ``user_preferences`` (inbound/consent.py), and whatever
the function's ``app.py`` registered (the template mirror, messaging limits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from wacloud.inbound.dispatch import FieldChange, InboundEffects, Subscribers
from wacloud.store import inbound_log

if TYPE_CHECKING:
    from wacloud.models.webhook.updates import ErrorUpdate, FieldUpdate

logger = Logger(child=True)


def handle_field(update: FieldUpdate, subscribers: Subscribers) -> InboundEffects:
    effects = InboundEffects(f"field:{update.field}")
    tenant = update.phone_number_id or update.waba_id
    at = float(update.occurred_at)
    value = (
        update.value
        if isinstance(update.value, dict)
        else update.value.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    effects.recorded = inbound_log.record_field_event(
        tenant, update.field, update.dedupe_key, at, {"value": value}
    )
    subscribers.publish(
        FieldChange(update.field, update.waba_id, update.phone_number_id, value, at), effects
    )
    if update.is_unknown:
        logger.warning("unknown webhook field recorded as-is", extra={"field": update.field})
    return effects


def handle_error(update: ErrorUpdate, subscribers: Subscribers) -> InboundEffects:
    """An error Meta put in a webhook's value: recorded under ``{field}.errors``."""
    effects = InboundEffects("error")
    tenant = update.phone_number_id or update.waba_id
    error = update.error.model_dump(mode="json", exclude_none=True)
    effects.recorded = inbound_log.record_field_event(
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
