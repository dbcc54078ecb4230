"""Which customers' messages refer to a cached inbound media object.

Inbound media is stored once per content (`media/{sha256}`, inbound_media.py), so a
sticker sent by many customers is one object. Erasing one customer must not delete
an object another customer's message still refers to, so each reference is an item:
`MEDIAREF#{sha256}` / `{pnid}#{wa_id}`. The partition is global, not per business
number, because the object is shared across numbers too. References expire with
the messages (MESSAGE_RETENTION_DAYS).
"""

from __future__ import annotations

from wacloud.infra.clock import now
from wacloud.infra.dynamo import put, query
from wacloud.infra.retention import message_expiry


def ref_pk(sha256: str) -> str:
    return f"MEDIAREF#{sha256}"


def ref_sk(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}#{wa_id}"


def add(sha256: str, phone_number_id: str, wa_id: str) -> None:
    """Note that this customer sent this content (idempotent; refreshes the expiry)."""
    put(
        {
            "pk": ref_pk(sha256),
            "sk": ref_sk(phone_number_id, wa_id),
            "expires_at": message_expiry(now()),
        }
    )


def others(sha256: str, phone_number_id: str, wa_id: str) -> int:
    """How many other customers' references to this content remain."""
    mine = ref_sk(phone_number_id, wa_id)
    return sum(1 for item in query(ref_pk(sha256)) if item["sk"] != mine)
