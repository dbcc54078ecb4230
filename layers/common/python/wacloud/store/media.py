"""Media uploaded to Meta from our bucket, cached by content hash.

An uploaded media id lives 30 days at Meta (fact sheet §1.4); we reuse it for 29, so
sending the same file to many customers uploads it once.
"""

from __future__ import annotations

import hashlib
import mimetypes

from wacloud.errors import InputError
from wacloud.graph.client import GraphClient
from wacloud.infra.aws import dynamodb, s3
from wacloud.infra.clock import now
from wacloud.infra.config import settings
from wacloud.infra.dynamo import get, marshal, table
from wacloud.infra.media_keys import outbound_key_problem

MEDIA_ID_REUSE_SECONDS = 29 * 24 * 3600


class MediaError(InputError, RuntimeError):
    """The media cannot be sent (missing object, unknown type): terminal for the message."""


def media_id_for(graph: GraphClient, phone_number_id: str, s3_key: str) -> str:
    cfg = settings()
    bucket = cfg.require(cfg.media_bucket, "MEDIA_BUCKET")
    # Checked again at the read, whatever validated the submission (media_keys).
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
    pk = f"{phone_number_id}#MEDIA#{digest}"
    cached = get(pk, consistent=False)
    if cached and float(cached.get("reuse_until", 0)) > now():
        return str(cached["media_id"])
    mime = obj.get("ContentType") or mimetypes.guess_type(s3_key)[0]
    if not mime or mime == "binary/octet-stream":
        raise MediaError(f"cannot tell the MIME type of {s3_key!r}; set ContentType on the object")
    media_id = graph.upload_media(
        phone_number_id, content, mime, filename=s3_key.rsplit("/", 1)[-1]
    )
    dynamodb().put_item(
        TableName=table(),
        Item=marshal(
            {
                "pk": pk,
                "sk": "#",
                "media_id": media_id,
                "s3_key": s3_key,
                "mime_type": mime,
                "reuse_until": now() + MEDIA_ID_REUSE_SECONDS,
                "expires_at": int(now() + MEDIA_ID_REUSE_SECONDS),
            }
        ),
    )
    return media_id
