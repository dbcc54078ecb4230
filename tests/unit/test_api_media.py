"""GET /v1/numbers/{pnid}/media/{sha256}: a five-minute link to cached inbound media,
only for a number one of whose customers sent it (a hash is not a capability)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from tests.unit.api_calls import call
from tests.unit.indexed_table import indexed_state_table
from wacloud.infra.clock import now

PNID, OTHER = "100000000000021", "100000000000022"
WA = "5215550002222"
BUCKET = "media-bucket"
JPEG = "1f" * 32
PDF = "2e" * 32


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from wacloud.infra import aws

    with indexed_state_table(monkeypatch, MEDIA_BUCKET=BUCKET):
        aws.s3_presigner.cache_clear()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(
            Bucket=BUCKET, Key=f"media/{JPEG}", Body=b"\xff\xd8jpeg", ContentType="image/jpeg"
        )
        s3.put_object(
            Bucket=BUCKET, Key=f"media/{PDF}", Body=b"%PDF", ContentType="application/pdf"
        )
        yield BUCKET


def path(pnid: str, sha256: str) -> str:
    return f"/v1/numbers/{pnid}/media/{sha256}"


def test_a_link_for_this_numbers_media_and_404_for_another_number(bucket: str) -> None:
    from wacloud.store import media_refs

    media_refs.add(JPEG, PNID, WA, mime_type="image/jpeg", kind="image")
    status, body = call("GET", path(PNID, JPEG), "agent")
    assert status == 200, body
    assert body["mime_type"] == "image/jpeg"
    assert body["expires_at"] == pytest.approx(now() + 300, abs=5)
    url = urlparse(body["url"])
    query = parse_qs(url.query)
    assert url.path.endswith(f"/media/{JPEG}") and BUCKET in body["url"]
    assert query["X-Amz-Expires"] == ["300"]
    assert "response-content-disposition" not in query  # an image is shown inline
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["response-content-type"] == ["image/jpeg"]

    # Another number's customers never sent it: the same 404 as for unknown content.
    status, body = call("GET", path(OTHER, JPEG), "agent")
    assert status == 404 and body["error"]["code"] == "not_found"
    assert call("GET", path(PNID, "3d" * 32), "agent")[1]["error"]["code"] == "not_found"
    # A number whose id is a prefix of this one's does not match its references.
    assert call("GET", path(PNID[:-1], JPEG), "agent")[0] == 404


def test_a_document_downloads_and_an_erased_or_expired_reference_is_gone(bucket: str) -> None:
    from wacloud.infra.dynamo import put
    from wacloud.store import media_refs

    media_refs.add(PDF, PNID, WA, mime_type="application/pdf", kind="document")
    status, body = call("GET", path(PNID, PDF), "agent")
    assert status == 200, body
    assert parse_qs(urlparse(body["url"]).query)["response-content-disposition"] == ["attachment"]

    from wacloud.infra.dynamo import delete

    delete(media_refs.ref_pk(PDF), media_refs.ref_sk(PNID, WA))  # the customer was erased
    assert call("GET", path(PNID, PDF), "agent")[0] == 404

    put({"pk": media_refs.ref_pk(PDF), "sk": media_refs.ref_sk(PNID, WA), "expires_at": 1})
    assert call("GET", path(PNID, PDF), "agent")[0] == 404  # past its expiry, TTL pending


def test_a_reference_from_before_types_were_kept_reads_the_objects(bucket: str) -> None:
    from wacloud.infra.dynamo import put
    from wacloud.store import media_refs

    put({"pk": media_refs.ref_pk(PDF), "sk": media_refs.ref_sk(PNID, WA)})
    status, body = call("GET", path(PNID, PDF), "agent")
    assert status == 200 and body["mime_type"] == "application/pdf"
    gone = "4c" * 32  # referenced, but the bucket's lifecycle removed the object
    put({"pk": media_refs.ref_pk(gone), "sk": media_refs.ref_sk(PNID, WA)})
    assert call("GET", path(PNID, gone), "agent")[0] == 404


def test_roles_and_malformed_hashes(bucket: str) -> None:
    assert call("GET", path(PNID, JPEG), None)[0] == 401
    assert call("GET", path(PNID, JPEG), "viewer")[0] == 403
    assert call("GET", path(PNID, "not-a-hash"), "agent")[0] == 400
    assert call("GET", path(PNID, JPEG.upper()), "agent")[0] == 400


def test_the_inbound_processor_writes_the_reference_with_its_type(bucket: str) -> None:
    from wacloud.inbound.media import MediaOutcome
    from wacloud.inbound.messages import _reference
    from wacloud.store import media_refs

    outcome = MediaOutcome(
        media={"sha256": JPEG, "mime_type": "image/jpeg", "kind": "image", "s3_key": "x"}
    )
    _reference(outcome, PNID, WA)
    ref = media_refs.referenced(JPEG, PNID)
    assert ref is not None and ref["mime_type"] == "image/jpeg" and ref["kind"] == "image"
    assert media_refs.referenced(JPEG, OTHER) is None
