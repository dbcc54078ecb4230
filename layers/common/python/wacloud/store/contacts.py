"""Contacts: one item per customer per business number (profile, window, consent)."""

from __future__ import annotations

from typing import Any

from wacloud.aws import dynamodb
from wacloud.clock import now
from wacloud.store.dynamo import get, is_conditional_failure, marshal, table

FREE_ENTRY_POINT_SECONDS = 72 * 3600  # fact sheet §6: CTWA / Page CTA free entry point


def contact_pk(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}#C#{wa_id}"


def load(phone_number_id: str, wa_id: str) -> dict[str, Any] | None:
    return get(contact_pk(phone_number_id, wa_id), "#")


def record_customer_message(
    phone_number_id: str,
    wa_id: str,
    *,
    at: float,
    profile_name: str | None,
    user_id: str | None,
    window_seconds: int,
    free_entry_point: bool,
) -> None:
    """Note a customer message: it opens (or extends) the customer-service window.

    Webhooks arrive out of order, so the window and last_seen only move forward: the
    conditional update fails harmlessly for an older message.
    """
    key = marshal({"pk": contact_pk(phone_number_id, wa_id), "sk": "#"})
    values: dict[str, Any] = {
        ":at": at,
        ":window": at + window_seconds,
        ":wa": wa_id,
        ":pn": phone_number_id,
    }
    sets = [
        "first_seen = if_not_exists(first_seen, :at)",
        "last_seen = :at",
        "window_expires_at = :window",
        "wa_id = :wa",
        "phone_number_id = :pn",
    ]
    if profile_name:
        values[":name"] = profile_name
        sets.append("profile_name = :name")
    if user_id:
        values[":uid"] = user_id
        sets.append("user_id = :uid")
    if free_entry_point:
        values[":fep"] = at + FREE_ENTRY_POINT_SECONDS
        sets.append("free_entry_point_expires_at = :fep")
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=key,
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_not_exists(last_seen) OR last_seen <= :at",
            ExpressionAttributeValues=marshal(values),
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
        # An older message arriving late keeps the newer window; it may be the first.
        # (No message counter here: reprocessing an item must change nothing.)
        try:
            dynamodb().update_item(
                TableName=table(),
                Key=key,
                UpdateExpression="SET first_seen = :at",
                ConditionExpression="first_seen > :at",
                ExpressionAttributeValues=marshal({":at": at}),
            )
        except Exception as late:
            if not is_conditional_failure(late):
                raise


def set_flag(phone_number_id: str, wa_id: str, flag: str, value: bool, *, reason: str) -> None:
    """Set a consent or block flag (opted_out_marketing, blocked) with when and why."""
    dynamodb().update_item(
        TableName=table(),
        Key=marshal({"pk": contact_pk(phone_number_id, wa_id), "sk": "#"}),
        UpdateExpression="SET #flag = :value, #flag_at = :at, #flag_reason = :reason, "
        "wa_id = :wa, phone_number_id = :pn",
        ExpressionAttributeNames={
            "#flag": flag,
            "#flag_at": f"{flag}_at",
            "#flag_reason": f"{flag}_reason",
        },
        ExpressionAttributeValues=marshal(
            {":value": value, ":at": now(), ":reason": reason, ":wa": wa_id, ":pn": phone_number_id}
        ),
    )


def window_open(contact: dict[str, Any] | None, at: float | None = None) -> bool:
    if not contact:
        return False
    return float(contact.get("window_expires_at", 0)) > (now() if at is None else at)
