"""The operator API's media resource: a short-lived link to a customer's cached media.

The inbound processor copies a customer's image, voice note, video, document or
sticker into the media bucket under ``media/{sha256}`` (wacloud.inbound.media), one
object per content, shared by every number and customer who sent it. A hash is not a
capability: this number may show the object only while one of ITS customers' messages
refers to it (the media reference, store/media_refs.py: written when the media is
cached, removed when that customer is erased). Otherwise 404, the same answer as for
content nobody sent, so a caller learns nothing about other numbers' customers.

The link is a presigned S3 GET valid for five minutes, signed with the API function's
own rights (s3:GetObject on ``media/*``). Content that a browser would render as a
page (anything but JPEG, PNG, WebP, audio and video) is served as an attachment.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from wacloud.api.auth import Agent
from wacloud.api.errors import ApiError
from wacloud.infra.aws import s3, s3_presigner
from wacloud.infra.clock import now
from wacloud.infra.config import settings
from wacloud.store import media_refs

router = APIGatewayHttpRouter()
TAGS = ["media"]
#: Seconds a link is valid.
LINK_SECONDS = 300
#: The media prefix of the bucket (wacloud.inbound.media.MEDIA_PREFIX; not imported:
#: that module brings the Graph client and the webhook models).
MEDIA_PREFIX = "media/"
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
INLINE_FAMILIES = ("audio/", "video/")

Pnid = Annotated[str, Path(pattern=r"^[0-9]{1,32}$", description="The business phone number id")]
Sha256 = Annotated[
    str, Path(pattern=r"^[0-9a-f]{64}$", description="The content's SHA-256 (lower-case hex)")
]


class MediaLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="A presigned GET of the cached object")
    mime_type: str
    expires_at: float = Field(description="Epoch seconds the link stops working")


def _inline(mime: str) -> bool:
    base = mime.split(";", 1)[0].strip().lower()
    return base in INLINE_TYPES or base.startswith(INLINE_FAMILIES)


def _mime_of(bucket: str, key: str) -> str:
    """The object's type, for a reference written before references carried it."""
    try:
        head: dict[str, Any] = dict(s3().head_object(Bucket=bucket, Key=key))
    except Exception as exc:
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            raise ApiError(404, "not_found", "no such media for this number") from None
        raise
    return str(head.get("ContentType") or "application/octet-stream")


@router.get(
    "/v1/numbers/<pnid>/media/<sha256>",
    summary="A five-minute link to a customer's media",
    description="The `media.sha256` of an inbound message in a conversation. 404 unless a "
    "customer of THIS number sent that content (and was not erased since).",
    tags=TAGS,
)
def media_link(pnid: Pnid, sha256: Sha256, caller: Agent) -> MediaLink:
    cfg = settings()
    bucket = cfg.require(cfg.media_bucket, "MEDIA_BUCKET")
    at = now()
    ref = media_refs.referenced(sha256, pnid, at=at)
    if ref is None:
        raise ApiError(404, "not_found", "no such media for this number")
    key = MEDIA_PREFIX + sha256
    mime = str(ref.get("mime_type") or "") or _mime_of(bucket, key)
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "ResponseContentType": mime}
    if not _inline(mime):
        params["ResponseContentDisposition"] = "attachment"
    url = s3_presigner().generate_presigned_url("get_object", Params=params, ExpiresIn=LINK_SECONDS)
    return MediaLink(url=url, mime_type=mime, expires_at=at + LINK_SECONDS)
