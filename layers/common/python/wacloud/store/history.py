"""A customer's conversation, newest first: the assistant's view of the history.

Both directions share the contact's partition of index gsi1 (`gsi1pk` =
`{pnid}#C#{wa_id}`, `gsi1sk` = ISO time + direction): customer messages
(store/inbound_log.py) and our sends (store/messages.py). `inbound_log.conversation`
reads it oldest first, for erasure (every item); the assistant needs only the last
few, so this reads backwards with a limit: one Query page, however long the history.
"""

from __future__ import annotations

from typing import Any

from wacloud.infra.dynamo import query
from wacloud.store.contacts import contact_pk


def recent(phone_number_id: str, wa_id: str, limit: int) -> list[dict[str, Any]]:
    """The last `limit` messages both ways with one customer, oldest first (gsi1)."""
    newest_first = query(
        contact_pk(phone_number_id, wa_id),
        index="gsi1",
        key_attr="gsi1pk",
        limit=limit,
        forward=False,
    )
    return newest_first[::-1]
