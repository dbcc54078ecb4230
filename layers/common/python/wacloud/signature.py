"""Webhook signature check (X-Hub-Signature-256), over the exact bytes received.

Meta signs the raw body with the app secret; re-serialised JSON would not match, so
callers must pass the body as received. Comparison is constant-time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable

_PREFIX = "sha256="


class SignatureCheck(enum.Enum):
    VALID = "valid"
    MISSING = "missing"
    MALFORMED = "malformed"
    MISMATCH = "mismatch"


def sign(body: bytes, app_secret: bytes) -> str:
    """The header value Meta would send for this body (used by tests and the emulator)."""
    return _PREFIX + hmac.new(app_secret, body, hashlib.sha256).hexdigest()


def check_signature(
    body: bytes, header: str | None, app_secrets: Iterable[bytes]
) -> SignatureCheck:
    if not header:
        return SignatureCheck.MISSING
    if not header.startswith(_PREFIX) or len(header) != len(_PREFIX) + 64:
        return SignatureCheck.MALFORMED
    received = header[len(_PREFIX) :].lower().encode()
    for secret in app_secrets:
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(expected, received):
            return SignatureCheck.VALID
    return SignatureCheck.MISMATCH
