"""Which objects of the media bucket a submission may send: only those under ``outbound/``.

The media bucket also holds customers' inbound media (``media/``), spilled webhooks and
submissions (``webhooks/``) and campaign lists (``campaigns/``). A submission's
``s3_key`` is uploaded to Meta and sent to whoever the submission names, so a key
elsewhere in the bucket would let any producer forward one customer's photo to
another. The rule is checked when a submission is validated and again where the
Sender reads the object (outbound/media.py), and the Sender's IAM policy allows reads
only under this prefix (template.yaml).
"""

from __future__ import annotations

OUTBOUND_MEDIA_PREFIX = "outbound/"
S3_KEY_MAX_BYTES = 1024
"""S3's own limit on a key's length (UTF-8 bytes)."""


def outbound_key_problem(key: str) -> str | None:
    """Why ``key`` may not be sent as outbound media, or None if it may.

    The reason never quotes the key (it is logged and stored with the rejection).
    """
    if key.startswith("/"):
        return f"must not start with '/'; use a key under {OUTBOUND_MEDIA_PREFIX}"
    if not key.startswith(OUTBOUND_MEDIA_PREFIX) or len(key) == len(OUTBOUND_MEDIA_PREFIX):
        return (
            f"must name an object under {OUTBOUND_MEDIA_PREFIX} in the media bucket "
            "(other prefixes hold customers' media and internal data)"
        )
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts[1:]):
        return "must not contain empty, '.' or '..' path segments"
    if "\\" in key or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        return "must not contain backslashes or control characters"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    if size > S3_KEY_MAX_BYTES:
        return f"at most {S3_KEY_MAX_BYTES} bytes (S3 limit), got {size}"
    return None


__all__ = ["OUTBOUND_MEDIA_PREFIX", "S3_KEY_MAX_BYTES", "outbound_key_problem"]
