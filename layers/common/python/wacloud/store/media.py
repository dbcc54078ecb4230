"""Media uploaded to Meta from our bucket, cached by content hash.

`{pnid}#MEDIA#{sha256}` / `#`: the media id Meta gave an upload of that content from
that number. An uploaded media id lives 30 days at Meta (docs/meta/media.md#endpoints); we reuse
it for 29, so sending the same file to many customers uploads it once. Deciding to
upload or reuse is `wacloud.outbound.media`'s; this is only the record.
"""

from __future__ import annotations

from wacloud.infra.clock import now
from wacloud.infra.dynamo import get, put

MEDIA_ID_REUSE_SECONDS = 29 * 24 * 3600


def media_pk(phone_number_id: str, sha256: str) -> str:
    return f"{phone_number_id}#MEDIA#{sha256}"


def cached_media_id(phone_number_id: str, sha256: str) -> str | None:
    """A media id uploaded from this number for this content, still safe to reuse."""
    cached = get(media_pk(phone_number_id, sha256), consistent=False)
    if cached and float(cached.get("reuse_until", 0)) > now():
        return str(cached["media_id"])
    return None


def remember(phone_number_id: str, sha256: str, media_id: str, s3_key: str, mime: str) -> None:
    """Keep an upload's media id for reuse (and let the record expire with it)."""
    at = now()
    put(
        {
            "pk": media_pk(phone_number_id, sha256),
            "sk": "#",
            "media_id": media_id,
            "s3_key": s3_key,
            "mime_type": mime,
            "reuse_until": at + MEDIA_ID_REUSE_SECONDS,
            "expires_at": int(at + MEDIA_ID_REUSE_SECONDS),
        }
    )
