"""WebhookReceive's core: only what must happen before answering Meta 200.

Check size and signature over the raw bytes, parse, split into one item per SQS
message (so a bad item never blocks the rest), keep the items that belong to the app
whose secret signed the body (``wacloud.inbound.tenancy``) and queue them. Anything
that fails while queuing answers 500, so Meta retries and nothing answered 200 is
ever lost; duplicates from such retries are absorbed downstream.

A signed body we cannot read as a webhook (not UTF-8 JSON, nested too deep, not a
webhook's shape, or holding duplicate keys, which parsers resolve by silently
dropping one value) would be refused the same way on each of Meta's retries for a
week: it is parked whole through ``park`` (the media bucket) and answered 200.

This runs on every POST and is measured in CPU microseconds (target 15 us), so the
common case -- a webhook holding exactly one item, ASCII as Meta sends it -- is queued
as the very bytes Meta signed, with no split and no re-serialisation, and parsing and
re-serialising use orjson (about 2.5x faster than the stdlib here).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from wacloud.errors import InputError
from wacloud.inbound.signature import SignatureCheck, check_signature
from wacloud.inbound.split import split_webhook
from wacloud.inbound.tenancy import Refusal, WebhookApps, piece_refusal
from wacloud.models.webhook.keys import ITEM_KEYS

MAX_BODY_BYTES = 3 * 1024 * 1024  # docs/meta/webhooks.md#delivery: payloads up to 3 MB

# orjson reads an integer beyond 64 bits as a float, so re-serialising it would change
# its digits. 20 digits in a row may be such an integer (2**64 has 20): those bodies
# are split from the stdlib's exact parse instead. Digits inside strings count too;
# that only costs the slower parse. (A regex scan cost 3x the whole parse; mapping
# digits to "1" and everything else to "0" and searching for twenty 1s runs in C.)
_DIGITS_AS_ONES = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))
_TWENTY_DIGITS = b"1" * 20
# Code points SQS refuses in a message body that JSON may carry (escaped or raw):
# U+FFFE and U+FFFF, as UTF-8. Lone surrogates cannot reach orjson's output.
_SQS_REFUSED = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


class UnreadableWebhookError(InputError):
    """The signed body cannot be queued as webhook items; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReceiveResult(NamedTuple):
    """What one POST came to (a NamedTuple: a frozen dataclass of seven fields costs
    0.4 us more to build, on a path measured in microseconds)."""

    status: int
    message: str
    items: int = 0
    #: Items signed by an app they do not belong to: not queued.
    refused: tuple[Refusal, ...] = ()
    #: Why the body was parked instead of queued, and where ``park`` put it.
    parked: str | None = None
    parked_at: str | None = None


def receive_webhook(
    body: bytes,
    signature_header: str | None,
    apps: WebhookApps,
    enqueue: Callable[[list[str]], None],
    park: Callable[[bytes], str],
) -> ReceiveResult:
    """Check, split, bind and queue one POST; the result's status is what Meta gets.

    ``enqueue`` must raise if any body could not be queued, and ``park`` (store a
    signed body that is not a readable webhook, returning where) if it could not store
    it: the exception propagates so the caller answers 500 and Meta retries the POST.
    """
    if len(body) > MAX_BODY_BYTES:
        return ReceiveResult(413, f"body of {len(body)} bytes exceeds the 3 MB limit")
    check, secret = check_signature(body, signature_header, apps.secrets)
    if check is SignatureCheck.MISSING:
        return ReceiveResult(401, "missing X-Hub-Signature-256")
    if check is SignatureCheck.MALFORMED:
        return ReceiveResult(403, "malformed X-Hub-Signature-256")
    if check is not SignatureCheck.VALID or secret is None:
        return ReceiveResult(403, "signature does not match")
    try:
        bodies, refused = _items(body, secret, apps)
    except UnreadableWebhookError as parked:
        return ReceiveResult(200, "EVENT_RECEIVED", parked=parked.reason, parked_at=park(body))
    except RecursionError:  # the stdlib parse or serialisation of a very deep body
        return ReceiveResult(
            200, "EVENT_RECEIVED", parked="nested too deeply", parked_at=park(body)
        )
    if bodies:
        enqueue(bodies)
    return ReceiveResult(200, "EVENT_RECEIVED", len(bodies), refused)


def _items(body: bytes, secret: bytes, apps: WebhookApps) -> tuple[list[str], tuple[Refusal, ...]]:
    """The SQS bodies of the items that belong to ``secret``'s app, and the refusals."""
    payload = _parse(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise UnreadableWebhookError("not a webhook (no entry list)")
    if _may_have_duplicate_keys(body, payload) and _has_duplicate_keys(body):
        raise UnreadableWebhookError("duplicate JSON keys")
    if body.isascii():
        single = _single_piece(payload)
        if single is not None:
            if apps.one_app:
                return [body.decode("ascii")], ()
            refusal = apps.refusal(secret, *single)
            if refusal is None:
                return [body.decode("ascii")], ()
            return [], (refusal,)
    if _TWENTY_DIGITS in body.translate(_DIGITS_AS_ONES):
        payload = json.loads(body)
    pieces = split_webhook(payload)
    if apps.one_app:
        return [_serialise(p) for p in pieces], ()
    bodies: list[str] = []
    refused: list[Refusal] = []
    for piece in pieces:
        refusal = piece_refusal(apps, secret, piece)
        if refusal is None:
            bodies.append(_serialise(piece))
        else:
            refused.append(refusal)
    return bodies, tuple(refused)


def _parse(body: bytes) -> Any:
    """The JSON value of ``body``; raises ``UnreadableWebhookError`` if not JSON or too deep.

    orjson refuses a few things the JSON grammar allows (a lone surrogate escape such
    as ``"\\ud800"``, numbers beyond a double's range, nesting past 1,024 levels):
    those go to the stdlib, so a body Meta signed is never refused for our parser's
    sake; the stdlib raises RecursionError on nesting past the interpreter's limit.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        raise UnreadableWebhookError("not UTF-8 JSON") from None
    except RecursionError:
        raise UnreadableWebhookError("nested too deeply") from None


def _may_have_duplicate_keys(body: bytes, payload: dict[str, Any]) -> bool:
    """False only when ``body`` certainly repeats no key within an object.

    Parsers keep the last of two equal keys, so a repeated ``entry`` or ``messages``
    would silently drop items. Counting colons is cheap where a strict parse is not:
    the body holds one ``:`` per key it contains plus those inside its strings; the
    parsed value re-serialised holds one per key *kept* plus those inside the strings
    kept, which are the same strings (orjson writes ``:`` as is) -- unless the body
    wrote a colon as the escape ``\\u003a``, the only other spelling JSON has. So
    with no such escape, equal counts mean no key was dropped; an escape or unequal
    counts send the body to the strict check.
    """
    if b"\\" in body and b"\\u003" in body:  # one-byte search first: most bodies have no escape
        return True
    try:
        kept = orjson.dumps(payload).count(b":")
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate from the stdlib parse
        return True
    return kept != body.count(b":")


class _DuplicateKeyError(Exception):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> None:
    if len(pairs) > 1 and len({key for key, _ in pairs}) != len(pairs):
        raise _DuplicateKeyError
    # The value is not needed: this parse only looks for repeated keys.


def _has_duplicate_keys(body: bytes) -> bool:
    """Strict check: does any object in ``body`` repeat a key? (stdlib parse, slow)."""
    try:
        json.loads(body.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except _DuplicateKeyError:
        return True
    return False


def _serialise(item: dict[str, Any]) -> str:
    """One item as an SQS message body.

    SQS refuses some code points that JSON may carry; the stdlib's ASCII-only output
    escapes them, so it serialises the rare item orjson cannot, or whose output holds one.
    """
    try:
        out = orjson.dumps(item)
    except TypeError:  # a lone surrogate from the stdlib fallback parse
        return json.dumps(item, separators=(",", ":"))
    # isascii first: it is ~10x cheaper than the substring searches, and ASCII output
    # (nearly every webhook) cannot hold a refused code point.
    if not out.isascii() and (_SQS_REFUSED[0] in out or _SQS_REFUSED[1] in out):
        return json.dumps(item, separators=(",", ":"))
    return out.decode("utf-8")


def is_single_item(payload: dict[str, Any]) -> bool:
    """True when ``split_webhook(payload)`` would return one piece equal to the input
    in meaning: one entry, one change, and at most one item under the item keys."""
    return _single_piece(payload) is not None


def _single_piece(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The only entry and change of a single-item ``payload``, else None."""
    entries = payload["entry"]
    if len(entries) != 1 or not isinstance(entries[0], dict):
        return None
    changes = entries[0].get("changes")
    if not isinstance(changes, list) or len(changes) != 1 or not isinstance(changes[0], dict):
        return None
    value = changes[0].get("value")
    if not isinstance(value, dict):
        return None
    items = 0
    for key in ITEM_KEYS:
        found = value.get(key)
        if isinstance(found, list):
            items += len(found)
    return (entries[0], changes[0]) if items <= 1 else None
