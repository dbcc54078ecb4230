"""Which customers' messages refer to a cached inbound media object.

Inbound media is stored once per content (`media/{sha256}`, inbound_media.py), so a
sticker sent by many customers is one object. Erasing one customer must not delete
an object another customer's message still refers to, so each reference is an item:
`MEDIAREF#{sha256}` / `{pnid}#{wa_id}`. The partition is global, not per business
number, because the object is shared across numbers too. References expire with
the messages (MESSAGE_RETENTION_DAYS).

The same items answer the operator API's media route (`referenced`): may this number
show this content? Only if one of its customers sent it and was not erased since (a
hash is not a capability). The MIME type and kind ride on the reference, so the route
needs no S3 call to describe the object.
"""

from __future__ import annotations

from typing import Any

from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, put, query, table, unmarshal
from wacloud.infra.retention import message_expiry


def ref_pk(sha256: str) -> str:
    return f"MEDIAREF#{sha256}"


def ref_sk(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}#{wa_id}"


def add(
    sha256: str,
    phone_number_id: str,
    wa_id: str,
    *,
    mime_type: str | None = None,
    kind: str | None = None,
) -> None:
    """Note that this customer sent this content (idempotent; refreshes the expiry)."""
    item: dict[str, Any] = {
        "pk": ref_pk(sha256),
        "sk": ref_sk(phone_number_id, wa_id),
        "expires_at": message_expiry(now()),
    }
    if mime_type:
        item["mime_type"] = mime_type
    if kind:
        item["kind"] = kind
    put(item)


def referenced(
    sha256: str, phone_number_id: str, *, at: float | None = None
) -> dict[str, Any] | None:
    """A reference to this content by a customer of this number, or None: one Query
    of at most one item (the sort key begins ``{pnid}#``; ids are digits, so one
    number's prefix never matches another's). A reference past its expiry that TTL
    has not removed yet counts as gone."""
    expr = Expr()
    expr.key_condition(f"{expr.name('pk')} = {expr.value(ref_pk(sha256))}")
    expr.key_condition(f"begins_with({expr.name('sk')}, {expr.value(f'{phone_number_id}#')})")
    response = dynamodb().query(TableName=table(), Limit=1, **expr.params())
    found = response.get("Items") or []
    if not found:
        return None
    item = unmarshal(found[0])
    expiry = item.get("expires_at")
    if expiry is not None and float(expiry) <= (now() if at is None else at):
        return None
    return item


def others(sha256: str, phone_number_id: str, wa_id: str) -> int:
    """How many other customers' references to this content remain."""
    mine = ref_sk(phone_number_id, wa_id)
    return sum(1 for item in query(ref_pk(sha256)) if item["sk"] != mine)
