"""Contacts: one item per customer per business number (profile, window, consent)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wacloud.infra import retention
from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import now
from wacloud.infra.dynamo import (
    batch_get,
    get,
    is_conditional_failure,
    marshal,
    table,
    unmarshal,
)

# docs/meta/messages.md#customer-service-window: CTWA / Page CTA free entry point
FREE_ENTRY_POINT_SECONDS = 72 * 3600


def contacts_index_pk(phone_number_id: str) -> str:
    """gsi2 partition of a number's contacts (newest activity last; sort key
    `contacts_index_sk(last_seen)`), set by the write that records a customer message."""
    return f"{phone_number_id}#CONTACTS"


def contacts_index_sk(last_seen: float) -> str:
    """Fixed width, so string order is time order (epoch seconds up to year 5138)."""
    return f"{last_seen:017.6f}"


def contact_pk(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}#C#{wa_id}"


def load(phone_number_id: str, wa_id: str) -> dict[str, Any] | None:
    return get(contact_pk(phone_number_id, wa_id), "#")


def contact_key(phone_number_id: str, wa_id: str) -> tuple[str, str]:
    """The contact's (pk, sk), for batch reads (`dynamo.batch_get`)."""
    return contact_pk(phone_number_id, wa_id), "#"


def load_many(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any] | None]:
    """Several contacts at once, strongly consistent: one BatchGetItem per 100 keys.

    `(phone_number_id, wa_id)` -> the item, or None when there is none. The sender
    reads its batch's contacts together with their pair buckets instead
    (`wacloud.store.throughput.load_contacts_and_pairs`, the same single call).
    """
    wanted = {contact_key(pnid, wa_id): (pnid, wa_id) for pnid, wa_id in keys}
    found = batch_get(wanted)
    return {pair: found.get(k) for k, pair in wanted.items()}


def record_customer_message(
    phone_number_id: str,
    wa_id: str,
    *,
    at: float,
    profile_name: str | None,
    user_id: str | None,
    window_seconds: int,
    free_entry_point: bool,
    wamid: str | None = None,
) -> None:
    """Note a customer message: it opens (or extends) the customer-service window.

    Webhooks arrive out of order, so the window and last_seen only move forward: the
    conditional update fails harmlessly for an older message. With a contact retention
    (CONTACT_RETENTION_DAYS) the message also pushes the contact's expiry back, unless
    the contact opted out of marketing (an opt-out is kept while it stands).
    """
    _record_customer_message(
        phone_number_id,
        wa_id,
        at=at,
        profile_name=profile_name,
        user_id=user_id,
        window_seconds=window_seconds,
        free_entry_point=free_entry_point,
        expiry=retention.contact_expiry(now()),
        wamid=wamid,
    )


def _record_customer_message(
    phone_number_id: str,
    wa_id: str,
    *,
    at: float,
    profile_name: str | None,
    user_id: str | None,
    window_seconds: int,
    free_entry_point: bool,
    expiry: int | None,
    wamid: str | None = None,
) -> None:
    key = marshal({"pk": contact_pk(phone_number_id, wa_id), "sk": "#"})
    values: dict[str, Any] = {
        ":at": at,
        ":window": at + window_seconds,
        ":wa": wa_id,
        ":pn": phone_number_id,
        ":g2pk": contacts_index_pk(phone_number_id),
        ":g2sk": contacts_index_sk(at),
    }
    sets = [
        "first_seen = if_not_exists(first_seen, :at)",
        "last_seen = :at",
        # The number's contacts index (gsi2) rides on this write: no extra call.
        "gsi2pk = :g2pk",
        "gsi2sk = :g2sk",
        "window_expires_at = :window",
        "wa_id = :wa",
        "phone_number_id = :pn",
    ]
    condition = "(attribute_not_exists(last_seen) OR last_seen <= :at)"
    if profile_name:
        values[":name"] = profile_name
        sets.append("profile_name = :name")
    if user_id:
        values[":uid"] = user_id
        sets.append("user_id = :uid")
    if free_entry_point:
        values[":fep"] = at + FREE_ENTRY_POINT_SECONDS
        sets.append("free_entry_point_expires_at = :fep")
    if wamid:
        # Tells a redelivery of the contact's latest message (Meta retries webhooks) from
        # the customer writing again: only the latter counts toward the inbound rate.
        values[":wamid"] = wamid
        sets.append("last_wamid = :wamid")
    if expiry is not None:
        values[":exp"] = expiry
        values[":true"] = True
        sets.append("expires_at = :exp")
        condition += (
            " AND (attribute_not_exists(opted_out_marketing) OR opted_out_marketing <> :true)"
        )
    # The inbound rate rides on this write (store/moderation.py): one more to this
    # minute's slot, every other slot removed; the contact as it was comes back.
    from wacloud.store import moderation

    slot = moderation.rate_slot(at)
    names = {"#rate": slot}
    names.update({f"#r{i}": name for i, name in enumerate(moderation.other_rate_slots(at))})
    values[":one"] = 1
    expression = (
        "SET "
        + ", ".join(sets)
        + " ADD #rate :one REMOVE "
        + ", ".join(n for n in names if n != "#rate")
    )
    try:
        response = dynamodb().update_item(
            TableName=table(),
            Key=key,
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=marshal(values),
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        before = unmarshal(response.get("Attributes") or {})
        count, stale = moderation.messages_this_minute(before, at)
        if stale:
            moderation.reset_rate_slot(phone_number_id, wa_id, at, int(before[slot]) + 1)
        duplicate = wamid is not None and before.get("last_wamid") == wamid
        if duplicate:
            moderation.uncount_message(phone_number_id, wa_id, at)
            count -= 1
        moderation.note_customer_message(
            phone_number_id, wa_id, at, count, before, duplicate=duplicate
        )
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
        old = unmarshal(getattr(exc, "response", {}).get("Item") or {}) or (
            load(phone_number_id, wa_id) or {}
        )
        if expiry is not None and float(old.get("last_seen", 0)) <= at:
            # Refused only because the contact opted out: record it without an expiry.
            _record_customer_message(
                phone_number_id,
                wa_id,
                at=at,
                profile_name=profile_name,
                user_id=user_id,
                window_seconds=window_seconds,
                free_entry_point=free_entry_point,
                expiry=None,
                wamid=wamid,
            )
            return
        # An older message arriving late keeps the newer window; it may be the first.
        # (No message counter here: reprocessing an item must change nothing.) The
        # refused update returned the contact: no call when first_seen is older already.
        if "first_seen" in old and float(old["first_seen"]) <= at:
            return
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


def apply_consent(
    phone_number_id: str, wa_id: str, *, opted_out: bool, at: float, reason: str
) -> bool:
    """Opt the contact out of (or back into) marketing, if this change is the newest.

    `at` is when the customer made the change: the webhook's own timestamp (the
    keyword message's, or the `user_preferences` item's), kept as `consent_at`. A
    change older than the last one applied changes nothing, so a webhook replayed
    after the idempotency window (8 days), or two changes delivered out of order,
    always leave the newest choice standing. Meta's timestamps have one-second
    resolution, so two changes of the same second cannot be ordered: then the
    opt-out wins (whatever order they arrive in, the contact ends opted out; when in
    doubt, no marketing). Re-applying the same choice at the same time is allowed
    (a retried item still confirms). True if the change was applied.
    """
    values: dict[str, Any] = {
        ":value": opted_out,
        ":ts": at,
        ":now": now(),
        ":reason": reason,
        ":wa": wa_id,
        ":pn": phone_number_id,
    }
    update = (
        "SET opted_out_marketing = :value, opted_out_marketing_at = :now, "
        "opted_out_marketing_reason = :reason, consent_at = :ts, wa_id = :wa, "
        "phone_number_id = :pn"
    )
    tie = "consent_at = :ts" if opted_out else "(consent_at = :ts AND opted_out_marketing = :value)"
    if opted_out:
        update += " REMOVE expires_at"  # an opt-out is kept while it stands
    else:
        expiry = retention.contact_expiry(now())
        if expiry is not None:
            values[":exp"] = expiry
            update = update.replace("SET ", "SET expires_at = :exp, ", 1)
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": contact_pk(phone_number_id, wa_id), "sk": "#"}),
            UpdateExpression=update,
            ConditionExpression=f"attribute_not_exists(consent_at) OR consent_at < :ts OR {tie}",
            ExpressionAttributeValues=marshal(values),
        )
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def set_flag(phone_number_id: str, wa_id: str, flag: str, value: bool, *, reason: str) -> None:
    """Set a flag (blocked) with when and why, unconditionally. Consent changes that
    come from the customer go through `apply_consent`, which orders them."""
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


def window(contact: dict[str, Any] | None, at: float | None = None) -> dict[str, Any]:
    """The customer-service window as the operator API shows it: ``open`` (the rule
    the sender and the inbox reply apply, `window_open`) and ``closes_at`` (epoch
    seconds while open, else None)."""
    is_open = window_open(contact, at)
    closes_at = float(contact["window_expires_at"]) if is_open and contact else None
    return {"open": is_open, "closes_at": closes_at}
