"""Dedupe-key arithmetic shared by the pydantic models and the hot-path splitter.

Why a separate, stdlib-only module: the receive Lambda splits webhooks on plain
dicts (``wacloud.inbound.split``) and must compute the same key the worker later
computes from the parsed models. Keeping the formatting and hashing rules in one
place means the two sides cannot drift; each side still does its own walking of
the payload, and a test checks that they agree on the whole corpus.

Key formats (Meta retries deliver byte-identical items, possibly to several apps,
so keys must be stable across retries — M:webhooks/overview "deduplicate"):

- inbound message: ``msg:{wamid}`` (the wamid is globally unique);
- status: ``status:{id}:{status}`` (one message legitimately gets several statuses);
- everything else: ``field:{field}:{sha256}`` over a canonical JSON document holding
  the item *and* the tenant and entry time. The item alone is not enough: a template
  that goes APPROVED -> PAUSED -> APPROVED sends two byte-identical values, and only
  ``entry.time`` tells them apart.
"""

import hashlib
import json

#: ``value`` keys whose lists hold independent items (one update each).
#: Order matches ``iter_updates``, so pieces come out in the same order as updates.
ITEM_KEYS: tuple[str, ...] = ("messages", "statuses", "calls", "user_preferences", "errors")

#: The ``kind`` recorded in the hashed document for a whole, unsplit ``value``.
WHOLE_VALUE = "value"


def to_int(raw: object) -> int | None:
    """Read a Unix time that Meta sends as an int or as a numeric string.

    Meta is inconsistent (``messages[].timestamp`` is a string, ``entry.time`` an int,
    ``user_preferences[].timestamp`` an int); anything unreadable becomes ``None``
    instead of an exception so one odd timestamp never drops an update.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            try:
                return int(float(raw))
            except ValueError:
                return None
    return None


def canonical_json(doc: object) -> str:
    """Serialise deterministically (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def message_key(wamid: object) -> str:
    """Key of an inbound message."""
    return f"msg:{wamid}"


def status_key(status_id: object, status: object) -> str:
    """Key of one status of one outbound message (or call)."""
    return f"status:{status_id}:{status}"


def field_key(
    *,
    field: str,
    kind: str,
    item: object,
    waba_id: str | None,
    phone_number_id: str | None,
    time: int | None,
) -> str:
    """Key of a non-message, non-status item (a field value, call, preference, error).

    ``kind`` is the ``value`` list the item came from (``errors``, ``calls``,
    ``user_preferences``) or :data:`WHOLE_VALUE` for a value kept whole.
    """
    doc = {
        "field": field,
        "item": item,
        "kind": kind,
        "phone_number_id": phone_number_id,
        "time": time,
        "waba_id": waba_id,
    }
    digest = hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()
    return f"field:{field}:{digest}"


def raw_key(envelope: object) -> str:
    """Key of something that is not a recognisable webhook piece (passed through whole)."""
    try:
        text = canonical_json(envelope)
    except (TypeError, ValueError):
        text = repr(envelope)
    return f"raw:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


def as_str(raw: object) -> str | None:
    """Ids may arrive as numbers from hand-written senders; compare them as strings."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, str | int):
        return str(raw)
    return None
