"""Inbound media caching: fresh URL on 404, hash check, size limits, transient errors."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from wacloud.graph.client import GraphTransportError, MediaInfo
from wacloud.graph.errors import GraphAPIError
from wacloud.inbound.media import (
    MB,
    STICKER_STATIC_MAX,
    TransientMediaError,
    cache_inbound_media,
    normalise_sha256,
)
from wacloud.models.webhook.messages import Document, Media, Sticker

BUCKET = "media-bucket"
PNID = "100000000000001"
JPEG = b"\xff\xd8\xff" + b"x" * 1000


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _graph_error(status: int, code: int | None = None) -> GraphAPIError:
    body = {"error": {"code": code, "message": "boom"}} if code is not None else None
    return GraphAPIError.from_response(status, body)


@dataclass
class FakeGraph:
    """Meta's media endpoints: each URL handed out can be made to fail."""

    data: bytes
    mime: str = "image/jpeg"
    sha256: str | None = None
    file_size: int | None = None
    download_failures: list[Exception] = field(default_factory=list)
    lookup_failures: list[Exception] = field(default_factory=list)
    lookups: int = 0
    downloads: list[str] = field(default_factory=list)

    def get_media(self, media_id: str, phone_number_id: str) -> MediaInfo:
        self.lookups += 1
        if self.lookup_failures:
            raise self.lookup_failures.pop(0)
        return MediaInfo(
            id=media_id,
            url=f"https://lookaside.example/{media_id}?n={self.lookups}",
            mime_type=self.mime,
            sha256=self.sha256 if self.sha256 is not None else _sha(self.data),
            file_size=self.file_size if self.file_size is not None else len(self.data),
        )

    def download_media(self, url: str, phone_number_id: str, max_bytes: int) -> bytes:
        self.downloads.append(url)
        if self.download_failures:
            raise self.download_failures.pop(0)
        return self.data


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _cache(graph: FakeGraph, s3: Any, kind: str, body: Media, **kw: Any) -> Any:
    return cache_inbound_media(
        graph, s3, bucket=BUCKET, phone_number_id=PNID, kind=kind, body=body, **kw
    )


def test_stores_by_hash_with_content_type(s3: Any) -> None:
    graph = FakeGraph(JPEG)
    outcome = _cache(graph, s3, "image", Media(id="42", mime_type="image/jpeg", sha256=_sha(JPEG)))
    assert outcome.error is None
    assert outcome.media == {
        "bucket": BUCKET,
        "s3_key": f"media/{_sha(JPEG)}",
        "mime_type": "image/jpeg",
        "size": len(JPEG),
        "sha256": _sha(JPEG),
        "kind": "image",
    }
    obj = s3.get_object(Bucket=BUCKET, Key=f"media/{_sha(JPEG)}")
    assert obj["Body"].read() == JPEG
    assert obj["ContentType"] == "image/jpeg"


def test_already_cached_media_is_not_downloaded_again(s3: Any) -> None:
    graph = FakeGraph(JPEG)
    body = Media(id="42", mime_type="image/jpeg", sha256=_sha(JPEG))
    _cache(graph, s3, "image", body)
    again = _cache(graph, s3, "image", body)
    assert again.media is not None and again.media["size"] == len(JPEG)
    assert len(graph.downloads) == 1 and graph.lookups == 1


def test_expired_url_gets_a_fresh_one_and_retries_once(s3: Any) -> None:
    graph = FakeGraph(JPEG, download_failures=[_graph_error(404)])
    outcome = _cache(graph, s3, "image", Media(id="42", sha256=_sha(JPEG)))
    assert outcome.media is not None
    assert graph.lookups == 2 and len(graph.downloads) == 2
    assert graph.downloads[0] != graph.downloads[1]


def test_webhook_url_is_tried_first_then_refreshed_by_id(s3: Any) -> None:
    graph = FakeGraph(JPEG, download_failures=[_graph_error(404)])
    body = Media(id="42", sha256=_sha(JPEG), url="https://lookaside.example/from-webhook")
    assert _cache(graph, s3, "image", body).media is not None
    assert graph.downloads[0] == "https://lookaside.example/from-webhook"
    assert graph.lookups == 1


def test_second_404_is_recorded_not_retried_forever(s3: Any) -> None:
    graph = FakeGraph(JPEG, download_failures=[_graph_error(404), _graph_error(404)])
    outcome = _cache(graph, s3, "image", Media(id="42"))
    assert outcome.media is None
    assert outcome.error is not None and outcome.error["code"] == "download_failed"
    assert len(graph.downloads) == 2


def test_hash_mismatch_is_an_error_and_nothing_is_stored(s3: Any) -> None:
    graph = FakeGraph(JPEG, sha256="0" * 64)
    outcome = _cache(graph, s3, "image", Media(id="42"))
    assert outcome.media is None
    assert outcome.error is not None and outcome.error["code"] == "sha256_mismatch"
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_webhook_hash_is_checked_too(s3: Any) -> None:
    outcome = _cache(FakeGraph(JPEG), s3, "image", Media(id="42", sha256="1" * 64))
    assert outcome.error is not None and outcome.error["code"] == "sha256_mismatch"


def test_base64_hash_is_understood() -> None:
    digest = hashlib.sha256(JPEG).digest()
    assert normalise_sha256(base64.b64encode(digest).decode()) == digest.hex()
    assert normalise_sha256(digest.hex().upper()) == digest.hex()
    assert normalise_sha256("not a hash") is None


@pytest.mark.parametrize(
    ("kind", "limit"),
    [("image", 5 * MB), ("audio", 16 * MB), ("video", 16 * MB), ("document", 100 * MB)],
)
def test_declared_size_over_the_kind_limit_is_refused_before_download(
    s3: Any, kind: str, limit: int
) -> None:
    graph = FakeGraph(JPEG, file_size=limit + 1)
    outcome = _cache(graph, s3, kind, Media(id="42"))
    assert outcome.error is not None and outcome.error["code"] == "too_large"
    assert graph.downloads == []


def test_actual_size_is_checked_when_meta_does_not_declare_one(s3: Any) -> None:
    big = b"x" * (STICKER_STATIC_MAX + 1)
    graph = FakeGraph(big, mime="image/webp")
    outcome = _cache(graph, s3, "sticker", Sticker(id="42", animated=False))
    assert outcome.error is not None and outcome.error["code"] == "too_large"
    animated = _cache(graph, s3, "sticker", Sticker(id="43", animated=True))
    assert animated.media is not None


def test_meta_131052_is_recorded_as_too_large(s3: Any) -> None:
    graph = FakeGraph(JPEG, lookup_failures=[_graph_error(400, 131052)])
    outcome = _cache(graph, s3, "document", Document(id="42", filename="big.pdf"))
    assert outcome.error == {"code": "too_large", "message": "(131052) boom", "graph_code": 131052}


def test_missing_id_carries_metas_error_code(s3: Any) -> None:
    outcome = _cache(
        FakeGraph(JPEG), s3, "video", Media(), message_errors=[{"code": 131052, "title": "x"}]
    )
    assert outcome.error is not None
    assert outcome.error["code"] == "no_media" and outcome.error["graph_code"] == 131052


@pytest.mark.parametrize(
    "failure",
    [
        GraphTransportError("timeout"),
        _graph_error(500, 131000),  # Meta's generic, retryable
        _graph_error(400, 130429),  # throughput: rate limited
        _graph_error(401, 190),  # token: fixed by an operator, then retried
    ],
)
def test_transient_failures_raise_for_a_retry(s3: Any, failure: Exception) -> None:
    graph = FakeGraph(JPEG, download_failures=[failure])
    with pytest.raises(TransientMediaError):
        _cache(graph, s3, "image", Media(id="42"))


def test_document_keeps_its_filename(s3: Any) -> None:
    pdf = b"%PDF-1.4 hello"
    graph = FakeGraph(pdf, mime="application/pdf")
    outcome = _cache(graph, s3, "document", Document(id="42", filename="invoice.pdf"))
    assert outcome.media is not None
    assert outcome.media["filename"] == "invoice.pdf"
    assert outcome.media["mime_type"] == "application/pdf"
