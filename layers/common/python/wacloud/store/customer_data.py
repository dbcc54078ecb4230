"""Where the state table holds something about one customer, found by key (no scan):
the reads and the delete that `wacloud.erasure` is made of.

The keys are the other store modules' (contacts, messages, inbound_log, reach,
throughput, media_refs); this module only gathers them for one customer.
"""

from __future__ import annotations

from typing import Any

from wacloud.infra.dynamo import delete, query
from wacloud.store.contacts import contact_pk
from wacloud.store.inbound_log import status_pk
from wacloud.store.messages import wamid_pk
from wacloud.store.reach import marker_pk
from wacloud.store.throughput import bucket_pk

__all__ = [
    "contact_pk",
    "conversation",
    "delete",
    "field_events",
    "limit_markers",
    "statuses",
    "wamid_pk",
]


def conversation(phone_number_id: str, wa_id: str) -> list[dict[str, Any]]:
    """Every message record with the customer, both directions (index gsi1)."""
    return query(contact_pk(phone_number_id, wa_id), index="gsi1", key_attr="gsi1pk")


def statuses(phone_number_id: str, wamid: str) -> list[dict[str, Any]]:
    """The status events recorded for one outbound message."""
    return query(status_pk(phone_number_id, wamid))


def field_events(phone_number_id: str, field: str) -> list[dict[str, Any]]:
    """The webhook records of one field for a number (one partition per field)."""
    return query(f"{phone_number_id}#EV#{field}")


def limit_markers(phone_number_id: str, wa_id: str) -> list[str]:
    """Partition keys (sk `#`) of the customer's messaging-limit marker and pair bucket."""
    return [marker_pk(phone_number_id, wa_id), bucket_pk("PAIR", phone_number_id, wa_id)]


def conversation_partition_sks(phone_number_id: str, wa_id: str) -> list[str]:
    """The sort keys in the conversation's partition: its record (``#``) and agents'
    notes (store/inbox.py)."""
    from wacloud.store.conversations import conversation_pk

    return [str(i["sk"]) for i in query(conversation_pk(phone_number_id, wa_id))]
