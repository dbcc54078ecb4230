"""Read side of the template mirror (`{waba}#TPL`, written by `wacloud.templates.sync`).

The sender looks a template up for every template send, so hits are cached for a
minute per warm Lambda. Misses are not cached: a template synced a moment ago must be
found on the next send, and a miss is rare (the send is rejected).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from wacloud.infra.clock import now
from wacloud.infra.dynamo import get, query
from wacloud.templates.sync import template_pk

CACHE_SECONDS = 60.0


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
