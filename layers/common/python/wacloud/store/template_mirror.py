"""The template mirror's items: `{waba}#TPL` / `{name}#{language}` (README, "State").

Written by `wacloud.templates.sync` (the full sync and the webhooks) through `upsert`
and `apply_if_newer`; read by the sender and campaigns. The store owns the keys.

The sender looks a template up for every template send, so hits are cached for a
minute per warm Lambda. Misses are not cached: a template synced a moment ago must be
found on the next send, and a miss is rare (the send is rejected).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, conditional_update, get, query

CACHE_SECONDS = 60.0


def template_pk(waba_id: str) -> str:
    return f"{waba_id}#TPL"


def template_sk(name: str, language: str) -> str:
    return f"{name}#{language}"


def mirror_items(waba_id: str) -> list[dict[str, Any]]:
    """Every mirrored template of a WABA (deleted ones included)."""
    return query(template_pk(waba_id))


def load(waba_id: str, name: str, language: str) -> dict[str, Any] | None:
    """One mirrored template, uncached (eventually consistent)."""
    return get(template_pk(waba_id), template_sk(name, language), consistent=False)


def upsert(waba_id: str, sk: str, fields: dict[str, Any]) -> None:
    """Set the given fields (None ones left alone) on one template item."""
    conditional_update(template_pk(waba_id), sk, Expr().set_fields(fields))


def apply_if_newer(
    waba_id: str, name: str, language: str, fields: dict[str, Any], stamp: str, when: float
) -> bool:
    """Set `fields` and the time attribute `stamp` = `when`, unless the item holds a
    newer `stamp` already (webhooks arrive out of order). True when applied."""
    expr = Expr().set_fields({**fields, stamp: when})
    attr = expr.name(stamp)
    expr.when(f"attribute_not_exists({attr}) OR {attr} <= {expr.value(when)}")
    return conditional_update(template_pk(waba_id), template_sk(name, language), expr)


@dataclass(frozen=True, slots=True)
class Lookup:
    template: dict[str, Any] | None
    # True when the WABA has been synced at all, so a missing template is really unknown.
    mirror_known: bool


_templates: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}
_mirrors: dict[str, float] = {}
_lock = threading.Lock()


def lookup(waba_id: str, name: str, language: str) -> Lookup:
    key = (waba_id, name, language)
    at = now()
    with _lock:
        hit = _templates.get(key)
    if hit and hit[0] > at:
        return Lookup(hit[1], True)
    item = get(template_pk(waba_id), f"{name}#{language}", consistent=False)
    if item is not None:
        with _lock:
            _templates[key] = (at + CACHE_SECONDS, item)
            _mirrors[waba_id] = at + CACHE_SECONDS
        return Lookup(item, True)
    return Lookup(None, _mirror_known(waba_id, at))


def _mirror_known(waba_id: str, at: float) -> bool:
    with _lock:
        if _mirrors.get(waba_id, 0.0) > at:
            return True
    known = bool(query(template_pk(waba_id), limit=1))
    if known:
        with _lock:
            _mirrors[waba_id] = at + CACHE_SECONDS
    return known


def clear_cache() -> None:
    with _lock:
        _templates.clear()
        _mirrors.clear()
