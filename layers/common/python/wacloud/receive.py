"""WebhookReceive's core: only what must happen before answering Meta 200.

Check size and signature over the raw bytes, parse, split into one item per SQS
message (so a bad item never blocks the rest) and queue them. Anything that fails
after the signature check answers 500, so Meta retries and nothing answered 200 is
ever lost; duplicates from such retries are absorbed downstream.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return ReceiveResult(400, "body is not valid JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return ReceiveResult(400, "body is not a webhook (no entry list)")
    items = split_webhook(payload)
    enqueue([json.dumps(item, separators=(",", ":"), ensure_ascii=False) for item in items])
    return ReceiveResult(200, "EVENT_RECEIVED", len(items))
