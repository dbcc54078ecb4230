"""A number's contacts as a list: the gsi2 contacts index, and the operator's profile
fields (tags, attributes) that campaign segments filter on.

* Index: a contact enters gsi2 (`{pnid}#CONTACTS`, sort key its `last_seen`) with the
  first customer message recorded (`store.contacts.record_customer_message` sets the
  keys on that same write), and moves to the top with each newer one. A contact that
  never wrote (known only from a CSV, a block or an opt-out) is not in the index.
* Profile: `tags` is a string set (added and removed with ADD / DELETE, so concurrent
  edits merge); `attributes` a map of strings and numbers (dates as ISO-8601 text).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

from wacloud.errors import ConflictError, InputError, NotFoundError
from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, get, items, update
from wacloud.store.contacts import contact_pk, contacts_index_pk, contacts_index_sk

INDEX = "gsi2"
PROFILE_ATTEMPTS = 5
_KEY_FIELDS = ("pk", "sk", "gsi2pk", "gsi2sk")


class CursorError(InputError, ValueError):
    """A list cursor that this list did not hand out."""


def encode_cursor(item: dict[str, Any]) -> str:
    key = {k: str(item[k]) for k in _KEY_FIELDS}
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, index_pk: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise CursorError("cursor is not one this list handed out") from exc
    if (
        not isinstance(key, dict)
        or set(key) != set(_KEY_FIELDS)
        or not all(isinstance(v, str) for v in key.values())
        or key["gsi2pk"] != index_pk
    ):
        raise CursorError("cursor is not one this list handed out")
    return {k: {"S": v} for k, v in key.items()}


def _request(
    phone_number_id: str,
    *,
    seen_before: float | None = None,
    seen_after: float | None = None,
    tag: str | None = None,
    newest_first: bool = True,
) -> dict[str, Any]:
    expr = Expr()
    expr.key_condition(f"gsi2pk = {expr.value(contacts_index_pk(phone_number_id))}")
    low = contacts_index_sk(seen_after) if seen_after is not None else None
    high = contacts_index_sk(seen_before) if seen_before is not None else None
    if low is not None and high is not None:
        expr.key_condition(f"gsi2sk BETWEEN {expr.value(low)} AND {expr.value(high)}")
    elif low is not None:
        expr.key_condition(f"gsi2sk >= {expr.value(low)}")
    elif high is not None:
        expr.key_condition(f"gsi2sk <= {expr.value(high)}")
    if tag is not None:
        expr.filter(f"contains({expr.name('tags')}, {expr.value(tag)})")
    return {"IndexName": INDEX, "ScanIndexForward": not newest_first, **expr.params()}


def index_page(
    index_pk: str,
    *,
    limit: int,
    cursor: str | None = None,
    tag: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a gsi2 partition, newest first: (items, next cursor or None).

    The cursor is the last returned item's index key, so a page cut short by the limit
    (with a tag filter, several DynamoDB pages may make one of ours) resumes exactly
    after it.
    """
    expr = Expr()
    expr.key_condition(f"gsi2pk = {expr.value(index_pk)}")
    if tag is not None:
        expr.filter(f"contains({expr.name('tags')}, {expr.value(tag)})")
    request: dict[str, Any] = {
        "IndexName": INDEX,
        "ScanIndexForward": False,
        "Limit": limit + 1,
        **expr.params(),
    }
    if cursor:
        request["ExclusiveStartKey"] = decode_cursor(cursor, index_pk)
    found: list[dict[str, Any]] = []
    for item in items(request):
        if len(found) == limit:  # one more exists: there is a next page
            return found, encode_cursor(found[-1])
        found.append(item)
    return found, None


def contacts_page(
    phone_number_id: str, *, limit: int, cursor: str | None = None, tag: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the number's contacts, newest activity first."""
    return index_page(contacts_index_pk(phone_number_id), limit=limit, cursor=cursor, tag=tag)


def contacts(
    phone_number_id: str, *, seen_before: float | None = None, seen_after: float | None = None
) -> Iterator[dict[str, Any]]:
    """Every indexed contact of the number last seen in the range (newest first)."""
    return items(_request(phone_number_id, seen_before=seen_before, seen_after=seen_after))


def update_profile(
    phone_number_id: str,
    wa_id: str,
    *,
    tags_add: list[str],
    tags_remove: list[str],
    attributes: dict[str, Any],
) -> dict[str, Any]:
    """Apply an operator's edit to an existing contact; returns the contact after it.

    `attributes`: a None value removes the attribute. Tags and attributes are written
    whole under the contact's `profile_version` (optimistic: a concurrent edit makes
    this one re-read and apply again on top), since one UpdateItem cannot both add to
    and delete from the same set. NotFoundError if there is no such contact.
    """
    pk = contact_pk(phone_number_id, wa_id)
    for _ in range(PROFILE_ATTEMPTS):
        current = get(pk, "#")
        if current is None:
            raise NotFoundError("contact not found")
        tags = (set(current.get("tags") or ()) | set(tags_add)) - set(tags_remove)
        merged = dict(current.get("attributes") or {})
        for name, value in attributes.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        version = int(current.get("profile_version", 0))
        expr = Expr().set("profile_updated_at", now()).set("profile_version", version + 1)
        if tags:
            expr.set("tags", tags)
        else:
            expr.remove("tags")
        expr.set("attributes", merged)
        expr.when("attribute_exists(pk)")
        if version:
            expr.when(f"{expr.name('profile_version')} = {expr.value(version)}")
        else:
            expr.when(f"attribute_not_exists({expr.name('profile_version')})")
        written = update(pk, "#", expr, returns="ALL_NEW")
        if written:
            return written.attributes
    raise ConflictError("the contact kept changing; try again")
