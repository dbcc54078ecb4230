"""Webhook signature check (X-Hub-Signature-256), over the exact bytes received.

Meta signs the raw body with the app secret; re-serialised JSON would not match, so
callers must pass the body as received. Comparison is constant-time.

Keying HMAC costs as much as hashing a short body, and OpenSSL 3's HMAC objects are
slow to create and copy, so each secret's inner and outer SHA-256 states (RFC 2104:
the key XOR ipad / opad, already hashed) are made once and copied per webhook, as the
stdlib's pure-Python ``hmac`` fallback does. ``tests/unit`` checks the result against
``hmac.digest`` for keys shorter than, equal to and longer than the block size.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
from collections.abc import Iterable
from typing import NamedTuple

_PREFIX = "sha256="


class SignatureCheck(enum.Enum):
    VALID = "valid"
    MISSING = "missing"
    MALFORMED = "malformed"
    MISMATCH = "mismatch"


class SignatureResult(NamedTuple):
    """The verdict and, when VALID, the app secret that signed the body.

    The secret says which Meta app sent the webhook; ``wacloud.inbound.tenancy`` then
    accepts only the items of numbers and WABAs that belong to that app.
    """

    check: SignatureCheck
    secret: bytes | None = None


_MISSING = SignatureResult(SignatureCheck.MISSING)
_MALFORMED = SignatureResult(SignatureCheck.MALFORMED)
_MISMATCH = SignatureResult(SignatureCheck.MISMATCH)


def sign(body: bytes, app_secret: bytes) -> str:
    """The header value Meta would send for this body (used by tests and the emulator)."""
    return _PREFIX + hmac.new(app_secret, body, hashlib.sha256).hexdigest()


def check_signature(
    body: bytes, header: str | None, app_secrets: Iterable[bytes]
) -> SignatureResult:
    """Check ``header`` against every configured app secret; say which one matched.

    Two apps with the same secret are one app as far as a signature can tell, so the
    first match is the answer.
    """
    if not header:
        return _MISSING
    if not header.startswith(_PREFIX) or len(header) != len(_PREFIX) + 64:
        return _MALFORMED
    try:
        received = bytes.fromhex(header[len(_PREFIX) :])
    except ValueError:
        return _MALFORMED
    for secret in app_secrets:
        if secret and hmac.compare_digest(hmac_sha256(secret, body), received):
            # tuple.__new__: a NamedTuple's own constructor is Python code (~0.3 us here).
            return tuple.__new__(SignatureResult, (SignatureCheck.VALID, secret))
    return _MISMATCH


_BLOCK = 64  # SHA-256 block size in bytes
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def hmac_sha256(secret: bytes, body: bytes) -> bytes:
    """HMAC-SHA256 of ``body``, equal to ``hmac.digest(secret, body, "sha256")``."""
    inner, outer = _pads(secret)
    inner_hash = inner.copy()
    inner_hash.update(body)
    outer_hash = outer.copy()
    outer_hash.update(inner_hash.digest())
    return outer_hash.digest()


@functools.lru_cache(maxsize=8)
def _pads(secret: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states that have absorbed the key XOR ipad and XOR opad (copy before use)."""
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))
