"""Token buckets of the send-rate limits: one item per bucket, its arrival time `tat`.

`{pnid}#RATE#NUMBER` (per business number) and `{pnid}#RATE#PAIR#{wa_id}` (per
recipient), sk `#`. The GCRA arithmetic that decides how many tokens to ask for is in
`wacloud.outbound.ratelimit`; here are the two ways of moving a bucket with one
conditional UpdateItem each, the refund, and the batch form of the pair buckets: read
with the batch's contacts in one BatchGetItem (`load_contacts_and_pairs`), written
back as whole items in the batch's BatchWriteItem (`bucket_item`; see
docs/outbound.md, "AWS calls per message", for why that is sound).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wacloud.infra.dynamo import Expr, batch_get, update
from wacloud.store.contacts import contact_key


@dataclass(frozen=True, slots=True)
class Take:
    """What a take did. `taken`: the bucket moved. `tat`: after a take, the bucket's new
    arrival time; after a refusal, the arrival time it had (None: no bucket yet)."""

    taken: bool
    tat: float | None


def bucket_pk(kind: str, phone_number_id: str, wa_id: str | None = None) -> str:
    return f"{phone_number_id}#RATE#{kind}" + (f"#{wa_id}" if wa_id else "")


def _take(pk: str, expr: Expr, expires_at: int | None) -> Take:
    if expires_at is not None:
        expr.set("expires_at", expires_at)
    written = update(pk, "#", expr, returns="UPDATED_NEW", old_on_failure=True)
    tat = written.attributes.get("tat")
    return Take(written.written, float(tat) if tat is not None else None)


def take_idle(pk: str, new_tat: float, at: float, *, expires_at: int | None = None) -> Take:
    """Set the arrival time to `new_tat` if the bucket is idle (none, or behind `at`)."""
    expr = Expr().set("tat", round(new_tat, 6))
    expr.when(f"attribute_not_exists(tat) OR tat < {expr.value(at)}")
    return _take(pk, expr, expires_at)


def take_busy(
    pk: str, cost: float, at: float, limit: float, *, expires_at: int | None = None
) -> Take:
    """Add `cost` to whatever arrival time the bucket has now, provided it is ahead of
    `at` and at most `limit` (so there is still room): concurrent takes commute."""
    expr = Expr()
    expr.set_clause(f"tat = tat + {expr.value(round(cost, 6))}")
    expr.when(f"tat >= {expr.value(at)} AND tat <= {expr.value(round(limit, 6))}")
    return _take(pk, expr, expires_at)


def give_back(pk: str, cost: float) -> None:
    """Move an existing bucket's arrival time back by `cost` (unused tokens)."""
    expr = Expr()
    expr.set_clause(f"tat = tat - {expr.value(round(cost, 6))}").when("attribute_exists(tat)")
    update(pk, "#", expr)


def pair_key(phone_number_id: str, wa_id: str) -> tuple[str, str]:
    return bucket_pk("PAIR", phone_number_id, wa_id), "#"


def bucket_item(pk: str, tat: float, expires_at: int) -> dict[str, Any]:
    """A whole bucket item, for an unconditional batch write of its new arrival time."""
    return {"pk": pk, "sk": "#", "tat": round(tat, 6), "expires_at": expires_at}


Recipient = tuple[str, str]  # (phone_number_id, wa_id)


def load_contacts_and_pairs(
    recipients: Iterable[Recipient],
) -> tuple[dict[Recipient, dict[str, Any] | None], dict[Recipient, float | None]]:
    """Each recipient's contact and pair-bucket arrival time, in one BatchGetItem
    (per 50 recipients): what a sender batch needs before its sends.

    Contacts: the item or None. Arrival times: None when there is no bucket yet.
    """
    wanted = list(dict.fromkeys(recipients))
    found = batch_get([k for r in wanted for k in (contact_key(*r), pair_key(*r))])
    contacts = {r: found.get(contact_key(*r)) for r in wanted}
    tats: dict[Recipient, float | None] = {}
    for r in wanted:
        tat = (found.get(pair_key(*r)) or {}).get("tat")
        tats[r] = float(tat) if tat is not None else None
    return contacts, tats
