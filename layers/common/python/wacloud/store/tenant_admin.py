"""Tenants as the operator API lists and changes them (issue #13).

The sender reads a number's config through `store.tenants` (cached a minute); this
module is the operators' side of the same item, `TENANT#{pnid}` sk `#`:

* a change through the API also files the number in gsi2 (`gsi2pk = "TENANTS"`,
  `gsi2sk = pnid`), so the numbers an operator configured can be listed with one
  Query instead of a Scan of the table;
* the numbers the Meta secret names (`tenants`) are tenants too, listed from the secret
  (they may have no item at all: the defaults apply);
* a changed limit is seen by this container at once and by the senders within a
  minute (`store.tenants.CACHE_SECONDS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, batch_get, get, query, update
from wacloud.store import assistant, tenants

REGISTRY = "TENANTS"


def registered_numbers() -> list[str]:
    """The numbers whose tenant item an operator wrote through the API."""
    return [
        str(item["gsi2sk"])
        for item in query(REGISTRY, index="gsi2", key_attr="gsi2pk")
        if item.get("gsi2sk")
    ]


def served_numbers(secret_numbers: Iterable[str]) -> list[str]:
    """The numbers this deployment serves, sorted: those the Meta secret names
    (``secret_numbers``) and those an operator configured through the API."""
    return sorted(set(secret_numbers) | set(registered_numbers()))


def config_items(
    numbers: list[str],
) -> dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """Per number: its tenant item, its assistant item and the organisation's assistant
    item ({} when absent), one BatchGetItem per 50 keys."""
    keys = [(tenants.tenant_pk(n), "#") for n in numbers] + [
        assistant.settings_key(n) for n in numbers
    ]
    found = batch_get([*keys, assistant.org_settings_key()])
    org = found.get(assistant.org_settings_key(), {})
    return {
        n: (
            found.get((tenants.tenant_pk(n), "#"), {}),
            found.get(assistant.settings_key(n), {}),
            org,
        )
        for n in numbers
    }


def org_assistant_item() -> dict[str, Any]:
    """The organisation's assistant defaults as stored ({} when none are)."""
    return get(*assistant.org_settings_key()) or {}


def config_item(phone_number_id: str) -> dict[str, Any]:
    return get(tenants.tenant_pk(phone_number_id)) or {}


def register(phone_number_id: str) -> None:
    """File the number in the registry (idempotent; the item is created when absent)."""
    expr = Expr().set("gsi2pk", REGISTRY).set("gsi2sk", phone_number_id)
    update(tenants.tenant_pk(phone_number_id), "#", expr)


def change(phone_number_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Set `changes` (a None value removes the attribute) on the tenant item, file the
    number in the registry, and return the item as it is now."""
    expr = Expr().set("gsi2pk", REGISTRY).set("gsi2sk", phone_number_id).set("updated_at", now())
    for name, value in changes.items():
        if value is None:
            expr.remove(name)
        else:
            expr.set(name, value)
    written = update(tenants.tenant_pk(phone_number_id), "#", expr, returns="ALL_NEW")
    tenants.clear_cache()
    return written.attributes
