"""Inbound records: customer messages, status events and other webhook fields.

Each is written with a conditional put keyed by what Meta uses to identify it (a
message by wamid, a status by wamid and status, any other item by a content hash), so
a webhook retried for days or duplicated across apps is recorded exactly once and the
complete status history of a message is kept whatever order it arrived in. Every
record expires after MESSAGE_RETENTION_DAYS (wacloud.infra.retention).
"""

from __future__ import annotations

from typing import Any

from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import iso, now
from wacloud.infra.dynamo import (
    get,
    is_conditional_failure,
    marshal,
    put_if_absent,
    query,
    table,
)
from wacloud.infra.retention import message_expiry
from wacloud.store.contacts import contact_pk

LATE_AFTER_SECONDS = 300

# `media_status` of a media message's record: its media is in the bucket (`media`),
# will never be (`media_error` says why), or is still being fetched (attached later
# by `attach_media`; docs/inbound.md).
MEDIA_STORED = "stored"
MEDIA_FAILED = "failed"
MEDIA_PENDING = "pending"


def inbound_pk(phone_number_id: str, wamid: str) -> str:
    return f"{phone_number_id}#IN#{wamid}"


def status_pk(phone_number_id: str, wamid: str) -> str:
    return f"{phone_number_id}#ST#{wamid}"


def load_inbound(phone_number_id: str, wamid: str) -> dict[str, Any] | None:
    """A customer message's record, or None."""
    return get(inbound_pk(phone_number_id, wamid))


def record_inbound_message(
    phone_number_id: str, wamid: str, wa_id: str, at: float, fields: dict[str, Any]
) -> bool:
    """True if this call recorded the message; False if it was already recorded.

    Meta's timestamps have one-second resolution, too coarse to order a customer's
    message against our reply of the same second; when the webhook arrives promptly
    (within LATE_AFTER_SECONDS) the conversation is ordered by when we recorded it.
    """
    recorded = now()
    sort_at = recorded if 0 <= recorded - at < LATE_AFTER_SECONDS else at
    return put_if_absent(
        {
            "pk": inbound_pk(phone_number_id, wamid),
            "sk": "#",
            "wamid": wamid,
            "wa_id": wa_id,
            "phone_number_id": phone_number_id,
            "direction": "in",
            "received_at": at,
            "recorded_at": recorded,
            "gsi1pk": contact_pk(phone_number_id, wa_id),
            "gsi1sk": f"{iso(sort_at)}#IN#{wamid}",
            "expires_at": message_expiry(recorded),
            **fields,
        }
    )


def attach_media(
    phone_number_id: str,
    wamid: str,
    *,
    media: dict[str, Any] | None,
    error: dict[str, Any] | None,
) -> bool:
    """Attach the media (or why it failed) to a message recorded with it pending.

    Conditional on ``media_status = pending``: a second retry, or one for a message
    since erased, changes nothing. True if this call attached it.
    """
    values: dict[str, Any] = {":pending": MEDIA_PENDING}
    if media:
        values |= {":status": MEDIA_STORED, ":media": media}
        update = "SET media_status = :status, media = :media"
    else:
        values |= {":status": MEDIA_FAILED, ":media": error or {"code": "unavailable"}}
        update = "SET media_status = :status, media_error = :media"
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": inbound_pk(phone_number_id, wamid), "sk": "#"}),
            UpdateExpression=update,
            ConditionExpression="media_status = :pending",
            ExpressionAttributeValues=marshal(values),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def set_transcript(
    phone_number_id: str, wamid: str, transcript: str, *, kind: str = "transcript"
) -> bool:
    """Store what a voice note says (or what an image shows, `kind="description"`) on
    its message record, for the history and for a person taking over.

    Conditional on the record existing (an erased message is not brought back) and
    on no text of that kind yet (a retried job keeps the first one). True if written.
    """
    field = "transcript" if kind == "transcript" else "description"
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": inbound_pk(phone_number_id, wamid), "sk": "#"}),
            UpdateExpression="SET #f = :text",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#f)",
            ExpressionAttributeNames={"#f": field},
            ExpressionAttributeValues=marshal({":text": transcript}),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def record_status(
    phone_number_id: str, wamid: str, status: str, at: float, fields: dict[str, Any]
) -> bool:
    return put_if_absent(
        {
            "pk": status_pk(phone_number_id, wamid),
            "sk": status,
            "wamid": wamid,
            "status": status,
            "occurred_at": at,
            "recorded_at": now(),
            "expires_at": message_expiry(now()),
            **fields,
        }
    )


def status_history(phone_number_id: str, wamid: str) -> list[dict[str, Any]]:
    """Every status recorded for a message, in the order they happened.

    Meta's timestamps have one-second resolution, so statuses of the same second are
    ordered by meaning (sent < delivered < read).
    """
    from wacloud.store.messages import RANK

    return sorted(
        query(status_pk(phone_number_id, wamid)),
        key=lambda s: (s["occurred_at"], RANK.get(s["status"], 0)),
    )


def record_field_event(
    tenant: str, field: str, dedupe_key: str, at: float, fields: dict[str, Any]
) -> bool:
    return put_if_absent(
        {
            "pk": f"{tenant}#EV#{field}",
            "sk": dedupe_key,
            "field": field,
            "occurred_at": at,
            "recorded_at": now(),
            "expires_at": message_expiry(now()),
            **fields,
        }
    )


def conversation(
    phone_number_id: str, wa_id: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """Messages both ways with one customer, oldest first (index gsi1)."""
    return query(contact_pk(phone_number_id, wa_id), index="gsi1", key_attr="gsi1pk", limit=limit)
