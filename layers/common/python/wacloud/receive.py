"""WebhookReceive's core: only what must happen before answering Meta 200.

Check size and signature over the raw bytes, parse, split into one item per SQS
message (so a bad item never blocks the rest) and queue them. Anything that fails
after the signature check answers 500, so Meta retries and nothing answered 200 is
ever lost; duplicates from such retries are absorbed downstream.

This runs on every POST and is measured in CPU microseconds, so the common case -- a
webhook holding exactly one item, ASCII as Meta sends it -- is queued as the very
bytes Meta signed, with no split and no re-serialisation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wacloud.models.webhook_keys import ITEM_KEYS
from wacloud.signature import SignatureCheck, check_signature
from wacloud.webhook_split import split_webhook

MAX_BODY_BYTES = 3 * 1024 * 1024  # fact sheet §3.8: payloads up to 3 MB


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    status: int
    message: str
    items: int = 0


def receive_webhook(
    body: bytes,
    signature_header: str | None,
    app_secrets: Sequence[bytes],
    enqueue: Callable[[list[str]], None],
) -> ReceiveResult:
    """Check, split and queue one POST; the result's status is what Meta gets.

    ``enqueue`` must raise if any body could not be queued: the exception propagates
    so the caller answers 500 and Meta retries the whole POST.
    """
    if len(body) > MAX_BODY_BYTES:
        return ReceiveResult(413, f"body of {len(body)} bytes exceeds the 3 MB limit")
    check = check_signature(body, signature_header, app_secrets)
    if check is SignatureCheck.MISSING:
        return ReceiveResult(401, "missing X-Hub-Signature-256")
    if check is SignatureCheck.MALFORMED:
        return ReceiveResult(403, "malformed X-Hub-Signature-256")
    if check is SignatureCheck.MISMATCH:
        return ReceiveResult(403, "signature does not match")
    try:
        text = body.decode("utf-8")
        payload = json.loads(text)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return ReceiveResult(400, "body is not valid UTF-8 JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return ReceiveResult(400, "body is not a webhook (no entry list)")
    # Raw pass-through only for ASCII: SQS refuses some code points (U+FFFE, lone
    # surrogates) that JSON may carry escaped; re-serialising with ensure_ascii keeps
    # them escaped, so such a webhook can always be queued.
    if text.isascii() and is_single_item(payload):
        bodies = [text]
    else:
        bodies = [json.dumps(item, separators=(",", ":")) for item in split_webhook(payload)]
    enqueue(bodies)
    return ReceiveResult(200, "EVENT_RECEIVED", len(bodies))


def is_single_item(payload: dict[str, Any]) -> bool:
    """True when ``split_webhook(payload)`` would return one piece equal to the input
    in meaning: one entry, one change, and at most one item under the item keys."""
    entries = payload["entry"]
    if len(entries) != 1 or not isinstance(entries[0], dict):
        return False
    changes = entries[0].get("changes")
    if not isinstance(changes, list) or len(changes) != 1 or not isinstance(changes[0], dict):
        return False
    value = changes[0].get("value")
    if not isinstance(value, dict):
        return False
    items = 0
    for key in ITEM_KEYS:
        found = value.get(key)
        if isinstance(found, list):
            items += len(found)
    return items <= 1
