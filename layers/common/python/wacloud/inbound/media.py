"""Inbound media: copy a customer's image, audio, video, document or sticker to S3.

Meta keeps the media behind a URL that expires after 5 minutes and a media id that
lives 7 days (docs/meta/media.md#endpoints), so the inbound processor copies it into the media
bucket while the item is processed, under ``media/{sha256}``: content-addressed, so
a sticker sent by a thousand customers is downloaded and stored once, and a
reprocessed item finds its object already there (a HEAD, no download).

Outcomes:

* stored -- ``media`` describes the object (S3 key, MIME type, size, hash);
* refused -- ``error`` says why (hash mismatch, too large, Meta cannot deliver it,
  a URL off Meta's media hosts); nothing is stored, the message is still recorded;
* transient -- :class:`TransientMediaError` (network, Meta 5xx or throttling, bad
  token, S3): the caller retries the item, or records the error on its last attempt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from wacloud.errors import TransientError
from wacloud.graph.client import (
    GraphTransportError,
    MediaInfo,
    MediaTooLargeError,
    MediaUrlRefusedError,
)
from wacloud.graph.errors import ErrorClass, GraphAPIError
from wacloud.infra.config import metrics_namespace
from wacloud.models.webhook.messages import InboundMessage, Media

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client as ObjectStore

logger = Logger(child=True)

KB = 1024
MB = 1024 * KB
# docs/meta/limits.md#text-and-media (supported media). The table describes what WhatsApp accepts;
# for inbound, the only figure stated is 100 MB (larger -> webhook error 131052). CONFLICT
# in scope, so the stricter rule applies: the per-kind limits below. MB is read as
# MiB, as the emulator and the outbound validator read it.
MAX_BYTES: dict[str, int] = {
    "audio": 16 * MB,
    "document": 100 * MB,
    "image": 5 * MB,
    "video": 16 * MB,
}
STICKER_STATIC_MAX = 100 * KB
STICKER_ANIMATED_MAX = 500 * KB
MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
MEDIA_PREFIX = "media/"
# docs/meta/errors.md#codes "Media download error" (e.g. > 100 MB)
META_MEDIA_DOWNLOAD_ERROR = 131052
URL_REFUSED_METRIC = "InboundMediaUrlRefused"


class MediaSource(Protocol):
    """What we need from the Graph client (``wacloud.graph.client.GraphClient``)."""

    def get_media(self, media_id: str, phone_number_id: str) -> MediaInfo: ...

    def download_media(self, url: str, phone_number_id: str, max_bytes: int) -> bytes:
        """The bytes at ``url``; `MediaUrlRefusedError` if the token may not go there,
        `MediaTooLargeError` past ``max_bytes``."""
        ...


class TransientMediaError(TransientError, RuntimeError):
    """The media may well be fetched later: retry the item while the id lives."""


@dataclass(frozen=True, slots=True)
class MediaOutcome:
    media: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class _RefusedError(Exception):
    def __init__(self, code: str, message: str, graph_code: int | None = None) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"code": code, "message": message}
        if graph_code is not None:
            self.error["graph_code"] = graph_code


def media_body(message: InboundMessage) -> tuple[str, Media] | None:
    """The (kind, body) of a media message, or None for any other type."""
    if message.type not in MEDIA_KINDS:
        return None
    body = getattr(message, message.type, None)
    return (message.type, body) if isinstance(body, Media) else None


def size_limit(kind: str, animated: bool | None) -> int:
    """Largest accepted size for the kind; a sticker of unknown animation gets the
    animated ceiling here and its exact limit once its bytes are seen."""
    if kind == "sticker":
        return STICKER_STATIC_MAX if animated is False else STICKER_ANIMATED_MAX
    return MAX_BYTES[kind]


def is_animated_webp(data: bytes) -> bool:
    """An animated WebP carries an ANIM chunk after the RIFF/WEBP header."""
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP" and b"ANIM" in data[:4096]


def normalise_sha256(value: str | None) -> str | None:
    """Meta's hash as lower-case hex; accepts hex or base64 (seen in the wild)."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text).hex()
        except ValueError:
            return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def cache_inbound_media(
    source: MediaSource,
    store: ObjectStore,
    *,
    bucket: str,
    phone_number_id: str,
    kind: str,
    body: Media,
    message_errors: list[dict[str, Any]] | None = None,
) -> MediaOutcome:
    """Copy one inbound media object to ``s3://{bucket}/media/{sha256}``."""
    animated = getattr(body, "animated", None)
    try:
        if not body.id and not body.url:
            graph_code = _meta_error_code(message_errors)
            raise _RefusedError(
                "no_media",
                "the webhook carries no media id or url",
                graph_code,
            )
        declared = normalise_sha256(body.sha256)
        if declared is not None:
            cached = _head(store, bucket, MEDIA_PREFIX + declared)
            if cached is not None:
                return MediaOutcome(media=_describe(bucket, declared, kind, body, *cached))
        data, info = _download(source, phone_number_id, body, size_limit(kind, animated))
        digest = hashlib.sha256(data).hexdigest()
        for claimed in (declared, normalise_sha256(info.sha256 if info else None)):
            if claimed is not None and claimed != digest:
                raise _RefusedError(
                    "sha256_mismatch", f"content hash {digest} differs from Meta's {claimed}"
                )
        limit = size_limit(kind, animated if animated is not None else is_animated_webp(data))
        if len(data) > limit:
            raise _RefusedError("too_large", f"{kind} of {len(data)} bytes exceeds {limit} bytes")
        mime = (info.mime_type if info else None) or body.mime_type or "application/octet-stream"
        try:
            store.put_object(
                Bucket=bucket,
                Key=MEDIA_PREFIX + digest,
                Body=data,
                ContentType=mime,
                Metadata={"kind": kind},
            )
        except Exception as exc:
            raise TransientMediaError(f"media could not be stored: {exc}") from exc
        return MediaOutcome(media=_describe(bucket, digest, kind, body, mime, len(data)))
    except _RefusedError as refused:
        return MediaOutcome(error=refused.error)


def _download(
    source: MediaSource, pnid: str, body: Media, limit: int
) -> tuple[bytes, MediaInfo | None]:
    """Bytes of the media: the webhook's own url first (sent since Nov 2025,
    docs/meta/media.md#endpoints), else or then a fresh URL from ``GET /{media-id}``.

    A webhook url that fails (404: fetch a new URL and retry, docs/meta/media.md#endpoints) or that
    names a host off Meta's media hosts is replaced by a fresh URL, which is checked the same way.
    """
    try:
        if body.url is None:
            return _download_fresh(source, pnid, body, limit, retry_404=True)
        try:
            return source.download_media(body.url, pnid, limit), None
        except MediaUrlRefusedError as exc:
            _report_refused_url(exc, pnid, "webhook")
            if not body.id:
                raise _RefusedError("untrusted_url", str(exc)) from exc
        except GraphAPIError as exc:
            if exc.http_status != 404 or not body.id:
                raise
        return _download_fresh(source, pnid, body, limit, retry_404=False)
    except MediaTooLargeError as exc:
        raise _RefusedError("too_large", str(exc)) from exc
    except GraphTransportError as exc:
        raise TransientMediaError(str(exc)) from exc
    except GraphAPIError as exc:
        if exc.error_class is ErrorClass.TERMINAL:
            code = "too_large" if exc.code == META_MEDIA_DOWNLOAD_ERROR else "download_failed"
            raise _RefusedError(code, str(exc), exc.code) from exc
        # Retryable, rate limited, or the token is bad: the media id lives 7 days.
        raise TransientMediaError(str(exc)) from exc


def _download_fresh(
    source: MediaSource, pnid: str, body: Media, limit: int, *, retry_404: bool
) -> tuple[bytes, MediaInfo]:
    """Download through a URL from ``GET /{media-id}``; on a 404, once more with a new one
    if ``retry_404``. A URL Meta's own lookup gives off the allowed hosts is refused for
    good: asking again cannot change where the token would go."""
    info = _lookup(source, pnid, body, limit)
    try:
        return source.download_media(info.url, pnid, limit), info
    except MediaUrlRefusedError as exc:
        _report_refused_url(exc, pnid, "media_lookup")
        raise _RefusedError("untrusted_url", str(exc)) from exc
    except GraphAPIError as exc:
        if exc.http_status != 404 or not retry_404:
            raise
    return _download_fresh(source, pnid, body, limit, retry_404=False)


def _report_refused_url(exc: MediaUrlRefusedError, pnid: str, source: str) -> None:
    """A log line and a metric: someone named a host our token must not reach (a
    forged webhook), or Meta moved its media (then add it to MEDIA_DOWNLOAD_HOSTS).
    Only the URL's origin is said: its path and query may carry signed parameters."""
    logger.warning(
        "inbound media url refused",
        extra={
            "phone_number_id": pnid,
            "url_source": source,
            "url_origin": exc.origin,
            "redirect": exc.redirect,
        },
    )
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=URL_REFUSED_METRIC,
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics_namespace(),
    ):
        pass


def _lookup(source: MediaSource, pnid: str, body: Media, limit: int) -> MediaInfo:
    assert body.id is not None
    try:
        info = source.get_media(body.id, pnid)
    except (KeyError, TypeError, ValueError) as exc:
        # A 200 that is not a media object (no url): retrying cannot change it.
        raise _RefusedError("download_failed", f"unexpected media response: {exc!r}") from exc
    if info.file_size is not None and info.file_size > limit:
        raise _RefusedError("too_large", f"Meta reports {info.file_size} bytes; limit is {limit}")
    return info


def _head(store: ObjectStore, bucket: str, key: str) -> tuple[str, int] | None:
    try:
        response = store.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return None
        raise TransientMediaError(f"media bucket unavailable: {exc}") from exc
    mime = str(response.get("ContentType") or "application/octet-stream")
    return mime, int(response.get("ContentLength", 0))


def _describe(
    bucket: str, digest: str, kind: str, body: Media, mime: str, size: int
) -> dict[str, Any]:
    described: dict[str, Any] = {
        "bucket": bucket,
        "s3_key": MEDIA_PREFIX + digest,
        "mime_type": mime,
        "size": size,
        "sha256": digest,
        "kind": kind,
    }
    filename = getattr(body, "filename", None)
    if filename:
        described["filename"] = filename
    return described


def _meta_error_code(errors: list[dict[str, Any]] | None) -> int | None:
    for error in errors or ():
        code = error.get("code")
        if isinstance(code, int):
            return code
    return None
