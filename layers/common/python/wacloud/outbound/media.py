"""Media for an outbound message: reuse the media id of an earlier upload of the same
content from the same number, or upload it from our bucket now.

The object is read from the media bucket (only under the outbound prefix, checked
again here whatever validated the submission), hashed, and looked up in the upload
cache (`wacloud.store.media`); a miss uploads it through the Graph client and caches
the new id.
"""

from __future__ import annotations

import hashlib
import mimetypes

from wacloud.errors import InputError
from wacloud.graph.client import GraphClient
from wacloud.infra.aws import s3
from wacloud.infra.config import settings
from wacloud.infra.media_keys import outbound_key_problem
from wacloud.store import media as cache


class MediaError(InputError, RuntimeError):
    """The media cannot be sent (missing object, unknown type): terminal for the message."""


def media_id_for(graph: GraphClient, phone_number_id: str, s3_key: str) -> str:
    """The Meta media id to send the object at `s3_key` with (uploading it if needed)."""
    cfg = settings()
    bucket = cfg.require(cfg.media_bucket, "MEDIA_BUCKET")
    problem = outbound_key_problem(s3_key)
    if problem is not None:
        raise MediaError(f"s3_key refused: {problem}")
    try:
        obj = s3().get_object(Bucket=bucket, Key=s3_key)
    except Exception as exc:
        raise MediaError(
            f"media object {s3_key!r} could not be read from the media bucket"
        ) from exc
    content = obj["Body"].read()
    digest = hashlib.sha256(content).hexdigest()
    cached = cache.cached_media_id(phone_number_id, digest)
    if cached is not None:
        return cached
    mime = obj.get("ContentType") or mimetypes.guess_type(s3_key)[0]
    if not mime or mime == "binary/octet-stream":
        raise MediaError(f"cannot tell the MIME type of {s3_key!r}; set ContentType on the object")
    media_id = graph.upload_media(
        phone_number_id, content, mime, filename=s3_key.rsplit("/", 1)[-1]
    )
    cache.remember(phone_number_id, digest, media_id, s3_key, mime)
    return media_id
