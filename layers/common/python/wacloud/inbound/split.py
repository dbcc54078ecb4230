"""Split a Meta webhook POST into single-item webhooks, on plain dicts.

Why: the receive Lambda must answer Meta fast (median <=250 ms, docs/meta/webhooks.md#delivery) and
hand the work to SQS. One POST can batch many entries x changes x items; if they travel as
one SQS message, a single item that crashes the worker blocks — and on redrive,
re-processes — all the others. Splitting makes each item its own message, retried
and dead-lettered alone.

Rules (the models' ``iter_updates`` follows the same ones, so a piece re-parses to
exactly one update with the same dedupe key):

- An item is an element of a non-empty list under one of ``value.messages``,
  ``statuses``, ``errors``, ``calls``, ``user_preferences``. Each becomes a
  Meta-shaped webhook with one entry, one change and that one item; the value keeps
  every other key whole (``messaging_product``, ``metadata``, ...) and only the
  ``contacts`` that belong to the item.
- A change with no item list (template status, account update, unknown fields...)
  is one item: it is passed through whole.
- Anything malformed (entry without a ``changes`` list, change without a dict
  ``value``, body without an ``entry`` list) is passed through whole at the level
  where it stopped making sense — never dropped — and fails alone downstream.

No pydantic here on purpose: this runs on every POST, before we answer Meta.
"""

from __future__ import annotations

from typing import Any

from wacloud.models.webhook.keys import (
    ITEM_KEYS,
    WHOLE_VALUE,
    as_str,
    field_key,
    message_key,
    raw_key,
    status_key,
    to_int,
)

#: Item kinds whose lone ``contacts`` entry is kept even without an id match: they
#: come *from* a user, and Meta sends that user's contact beside them.
_SENDER_KINDS = frozenset({"messages", "calls", "user_preferences"})

#: Keys of an item that name the user it concerns, per item kind.
_ITEM_ID_KEYS: dict[str, tuple[str, ...]] = {
    "messages": ("from", "from_user_id"),
    "statuses": ("recipient_id",),
    "calls": ("from", "to"),
    "user_preferences": ("wa_id",),
    "errors": (),
}


def split_webhook(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one single-item webhook envelope per item of ``payload``.

    Every item of the input appears in exactly one output. Inputs are not mutated;
    outputs share unchanged sub-objects with the input (treat both as read-only).
    """
    entries = payload.get("entry") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        return [payload]
    head = {k: v for k, v in payload.items() if k != "entry"}
    pieces: list[dict[str, Any]] = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            pieces.append({**head, "entry": [entry]})
            continue
        entry_head = {k: v for k, v in entry.items() if k != "changes"}
        for change in changes:
            for one in _split_change(change):
                pieces.append({**head, "entry": [{**entry_head, "changes": [one]}]})
    return pieces


def _split_change(change: object) -> list[Any]:
    """Split one change into single-item changes (or return it whole)."""
    if not isinstance(change, dict):
        return [change]
    value = change.get("value")
    if not isinstance(value, dict):
        return [change]
    present = [k for k in ITEM_KEYS if k in value]
    lists = [(k, value[k]) for k in present if isinstance(value[k], list) and value[k]]
    if not lists:
        return [change]
    if len(present) == 1 and len(lists[0][1]) == 1:
        # Already one item (Meta's usual shape): passed whole, as the receive path
        # passes a single-item POST, so a change is never copied only to be equal.
        return [change]
    change_head = {k: v for k, v in change.items() if k != "value"}
    base = {
        k: v
        for k, v in value.items()
        if k != "contacts" and not (k in ITEM_KEYS and isinstance(v, list))
    }
    contacts = value.get("contacts")
    out: list[Any] = []
    for kind, items in lists:
        for item in items:
            piece_value = dict(base)
            relevant = _relevant_contacts(kind, item, contacts)
            if relevant:
                piece_value["contacts"] = relevant
            piece_value[kind] = [item]
            out.append({**change_head, "value": piece_value})
    return out


def _relevant_contacts(kind: str, item: object, contacts: object) -> list[Any]:
    """Contacts matching the item's user ids (``wa_id`` or ``user_id``).

    Mirrors ``wacloud.models.webhook.common.pick_contact``: for items sent *by* a
    user, a lone contact is kept even when ids do not match.
    """
    if not isinstance(contacts, list) or not contacts:
        return []
    ids: set[str] = set()
    if isinstance(item, dict):
        for key in _ITEM_ID_KEYS.get(kind, ()):
            found = as_str(item.get(key))
            if found:
                ids.add(found)
    matched = [
        c
        for c in contacts
        if isinstance(c, dict)
        and (as_str(c.get("wa_id")) in ids or as_str(c.get("user_id")) in ids)
    ]
    if not matched and kind in _SENDER_KINDS and len(contacts) == 1:
        return list(contacts)
    return matched


def item_key(envelope: dict[str, Any]) -> str:
    """Dedupe key of a single-item envelope, equal to the model's ``dedupe_key``.

    ``msg:{wamid}``, ``status:{id}:{status}``, or ``field:{field}:{sha256}`` (see
    ``wacloud.models.webhook.keys``). Something that is not a webhook piece gets
    ``raw:{sha256}``. For an envelope holding several items, the key of the first
    (in ``ITEM_KEYS`` order) is returned; split first.
    """
    entry, change = _only_entry_and_change(envelope)
    if entry is None or change is None:
        return raw_key(envelope)
    value = change.get("value", {})
    if not isinstance(value, dict):
        return raw_key(envelope)
    field = change.get("field")
    if not isinstance(field, str):
        return raw_key(envelope)
    metadata = value.get("metadata")
    pnid = as_str(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
    waba_id = as_str(entry.get("id"))
    time = to_int(entry.get("time"))

    for kind in ITEM_KEYS:
        items = value.get(kind)
        if not isinstance(items, list) or not items:
            continue
        item = items[0]
        if kind == "messages":
            return message_key(item.get("id")) if isinstance(item, dict) else raw_key(envelope)
        if kind == "statuses":
            if not isinstance(item, dict):
                return raw_key(envelope)
            return status_key(item.get("id"), item.get("status"))
        return field_key(
            field=field, kind=kind, item=item, waba_id=waba_id, phone_number_id=pnid, time=time
        )
    return field_key(
        field=field, kind=WHOLE_VALUE, item=value, waba_id=waba_id, phone_number_id=pnid, time=time
    )


def _only_entry_and_change(
    envelope: object,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """First entry and its first change, or ``None`` where the shape breaks."""
    if not isinstance(envelope, dict):
        return None, None
    entries = envelope.get("entry")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return None, None
    entry = entries[0]
    changes = entry.get("changes")
    if not isinstance(changes, list) or not changes or not isinstance(changes[0], dict):
        return entry, None
    return entry, changes[0]
