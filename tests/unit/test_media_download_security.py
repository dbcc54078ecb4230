"""The Graph token goes only to Meta's media hosts; downloads stop at the size cap.

These drive the real `GraphClient` (its httpx client on a transport that records
every request, or on real local HTTP servers) through the real `cache_inbound_media`
into a moto bucket. The attacker's hosts answer 200 with bytes, so a request that
reached them would show up as stored media, not only as a recorded request.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from wacloud.graph.client import GraphClient, MediaTooLargeError, MediaUrlRefusedError
from wacloud.inbound.media import MB, MediaOutcome, cache_inbound_media
from wacloud.infra.config import ConfigurationError, Settings, parse_hosts
from wacloud.models.webhook.messages import Media

# Part of the bad-input suite (README, "Security"): `pytest -m bad_input`.
pytestmark = pytest.mark.bad_input

BUCKET = "media-bucket"
PNID = "100000000000001"
TOKEN = "EAAG-TOKEN-MARKER-5521"
SIGNED = "SIGNED-QUERY-9931"  # stands for Meta's signed query parameters
GRAPH = "https://graph.facebook.com"
MEDIA_URL = f"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=42&hash={SIGNED}"
JPEG = b"\xff\xd8\xff" + b"j" * 2000
ALLOWED = {("https", "graph.facebook.com", None), ("https", "lookaside.fbsbx.com", None)}

FOREIGN_URLS = [
    "https://attacker.example/steal?x=1",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=42",  # plain HTTP
    "https://lookaside.fbsbx.com:8443/whatsapp_business/attachments/?mid=42",
    "https://lookaside.fbsbx.com@attacker.example/whatsapp_business/attachments/",
    "https://lookaside.fbsbx.com.attacker.example/whatsapp_business/attachments/",
    "https://graph.facebook.com.attacker.example/v23.0/42",
    "https://lookaside.fbsbx.com\\@attacker.example/",
    "file:///etc/passwd",
    "not a url at all",
]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


@dataclass
class Internet:
    """Graph, Meta's media host and everyone else, behind one recording transport."""

    data: bytes = JPEG
    lookup_url: str = MEDIA_URL
    media: Callable[[httpx.Request], httpx.Response] | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "graph.facebook.com" and request.url.path == "/v23.0/42":
            return httpx.Response(
                200,
                json={"id": "42", "url": self.lookup_url, "mime_type": "image/jpeg"},
            )
        if request.url.host == "lookaside.fbsbx.com" and self.media is not None:
            return self.media(request)
        # Meta's host, or an attacker's that would gladly take the token.
        return httpx.Response(200, content=self.data)

    def client(self, base: str = GRAPH, **kw: Any) -> GraphClient:
        http = httpx.Client(transport=httpx.MockTransport(self))
        return GraphClient(base, "v23.0", lambda _pnid: TOKEN, http=http, **kw)

    def origins_given_the_token(self) -> set[tuple[str, str, int | None]]:
        return {_origin(r.url) for r in self.requests if "authorization" in r.headers}

    def origins(self) -> set[tuple[str, str, int | None]]:
        return {_origin(r.url) for r in self.requests}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _cache(graph: GraphClient, s3: Any, body: Media, kind: str = "image") -> MediaOutcome:
    return cache_inbound_media(graph, s3, bucket=BUCKET, phone_number_id=PNID, kind=kind, body=body)


def _stored(s3: Any) -> int:
    return int(s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0))


def _everything_said(caplog: pytest.LogCaptureFixture, out: str, outcome: MediaOutcome) -> str:
    records = [f"{r.getMessage()} {json.dumps(r.__dict__, default=str)}" for r in caplog.records]
    return "\n".join([*records, out, json.dumps(outcome.error or {})])


# ------------------------------------------------------------------ the webhook's url
@pytest.mark.parametrize("url", FOREIGN_URLS)
def test_foreign_webhook_url_gets_no_token_and_media_comes_from_meta(
    s3: Any, url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    net = Internet()
    caplog.set_level(logging.INFO)
    outcome = _cache(net.client(), s3, Media(id="42", url=url, sha256=_sha(JPEG)))

    assert outcome.error is None and outcome.media is not None
    assert outcome.media["sha256"] == _sha(JPEG)
    # Nothing at all was sent anywhere but Graph and Meta's media host.
    assert net.origins() <= ALLOWED
    assert net.origins_given_the_token() == ALLOWED
    said = _everything_said(caplog, capsys.readouterr().out, outcome)
    assert "inbound media url refused" in said
    assert "InboundMediaUrlRefused" in said  # the metric (EMF on stdout)
    assert TOKEN not in said


def test_foreign_webhook_url_without_a_media_id_is_refused(s3: Any) -> None:
    net = Internet()
    outcome = _cache(net.client(), s3, Media(url="https://attacker.example/x"))
    assert outcome.error is not None and outcome.error["code"] == "untrusted_url"
    assert net.requests == []
    assert _stored(s3) == 0


# ------------------------------------------------------------------ GET /{media-id}'s url
@pytest.mark.parametrize("url", FOREIGN_URLS[:4])
def test_foreign_url_from_the_media_lookup_is_refused_not_retried(
    s3: Any, url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    net = Internet(lookup_url=url + f"&hash={SIGNED}")
    caplog.set_level(logging.INFO)
    outcome = _cache(net.client(), s3, Media(id="42"))

    assert outcome.media is None
    assert outcome.error is not None and outcome.error["code"] == "untrusted_url"
    assert "transient" not in outcome.error
    assert [r.url.path for r in net.requests] == ["/v23.0/42"]  # one lookup, no download
    assert _stored(s3) == 0
    said = _everything_said(caplog, capsys.readouterr().out, outcome)
    assert "media_lookup" in said
    assert TOKEN not in said and SIGNED not in said


def test_webhook_url_and_lookup_url_both_foreign_is_refused(s3: Any) -> None:
    net = Internet(lookup_url="https://attacker.example/again")
    outcome = _cache(net.client(), s3, Media(id="42", url="https://attacker.example/first"))
    assert outcome.error is not None and outcome.error["code"] == "untrusted_url"
    assert "attacker.example" not in {r.url.host for r in net.requests}


# ------------------------------------------------------------------ redirects
def test_redirect_off_meta_is_not_followed(s3: Any) -> None:
    net = Internet(
        media=lambda r: httpx.Response(302, headers={"location": "https://attacker.example/r"})
    )
    outcome = _cache(net.client(), s3, Media(id="42", url=MEDIA_URL))

    assert outcome.error is not None and outcome.error["code"] == "untrusted_url"
    assert "attacker.example" not in {r.url.host for r in net.requests}
    assert net.origins_given_the_token() == ALLOWED
    assert _stored(s3) == 0


def test_redirect_within_meta_is_followed() -> None:
    def media(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/moved":
            return httpx.Response(200, content=JPEG)
        return httpx.Response(307, headers={"location": "/moved"})

    net = Internet(media=media)
    assert net.client().download_media(MEDIA_URL, PNID, 5 * MB) == JPEG
    assert [r.url.path for r in net.requests] == ["/whatsapp_business/attachments/", "/moved"]


def test_redirect_loop_ends_as_a_refused_download(s3: Any) -> None:
    net = Internet(media=lambda r: httpx.Response(302, headers={"location": MEDIA_URL}))
    outcome = _cache(net.client(), s3, Media(id="42"))
    assert outcome.error is not None and outcome.error["code"] == "download_failed"
    assert len(net.requests) < 20


# ------------------------------------------------------------------ size cap
@dataclass
class Body:
    """A media body produced chunk by chunk, counting what the client pulled."""

    total: int
    chunk: int = 64 * 1024
    pulled: int = 0

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        while sent < self.total:
            piece = min(self.chunk, self.total - sent)
            sent += piece
            self.pulled += piece
            yield b"\xff" * piece


def test_oversized_body_is_cut_off_while_streaming(s3: Any) -> None:
    body = Body(total=6 * MB)
    net = Internet(media=lambda r: httpx.Response(200, content=body))
    outcome = _cache(net.client(), s3, Media(id="42", url=MEDIA_URL))

    assert outcome.error is not None and outcome.error["code"] == "too_large"
    assert body.pulled <= 5 * MB + body.chunk  # stopped within one chunk of the cap
    assert _stored(s3) == 0


def test_declared_oversized_body_is_refused_before_reading() -> None:
    body = Body(total=6 * MB)
    net = Internet(
        media=lambda r: httpx.Response(200, content=body, headers={"content-length": str(6 * MB)})
    )
    with pytest.raises(MediaTooLargeError):
        net.client().download_media(MEDIA_URL, PNID, 5 * MB)
    assert body.pulled == 0


def test_body_at_the_cap_is_kept() -> None:
    net = Internet(media=lambda r: httpx.Response(200, content=Body(total=100 * 1024)))
    assert len(net.client().download_media(MEDIA_URL, PNID, 100 * 1024)) == 100 * 1024


def test_sticker_is_capped_at_its_own_limit(s3: Any) -> None:
    body = Body(total=2 * MB, chunk=16 * 1024)
    net = Internet(media=lambda r: httpx.Response(200, content=body))
    outcome = _cache(net.client(), s3, Media(id="42", url=MEDIA_URL), kind="sticker")
    assert outcome.error is not None and outcome.error["code"] == "too_large"
    assert body.pulled <= 500 * 1024 + body.chunk


# ------------------------------------------------------------------ the policy itself
@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:4005/whatsapp_business/attachments/?mid=1", True),
        ("http://127.0.0.1:4006/whatsapp_business/attachments/?mid=1", False),
        ("https://127.0.0.1:4005/x", False),
        ("http://localhost:4005/x", False),
        ("https://lookaside.fbsbx.com/x", True),
        ("http://lookaside.fbsbx.com/x", False),
    ],
)
def test_graph_base_origin_is_the_one_extra_trusted_origin(url: str, allowed: bool) -> None:
    net = Internet()
    graph = net.client("http://127.0.0.1:4005")
    if allowed:
        assert graph.download_media(url, PNID, MB) == JPEG
    else:
        with pytest.raises(MediaUrlRefusedError):
            graph.download_media(url, PNID, MB)
        assert net.requests == []


def test_configured_extra_host_is_https_only() -> None:
    net = Internet()
    graph = net.client(media_hosts=("media.example.net",))
    assert graph.download_media("https://media.example.net/a", PNID, MB) == JPEG
    with pytest.raises(MediaUrlRefusedError):
        graph.download_media("http://media.example.net/a", PNID, MB)
    assert len(net.requests) == 1


@pytest.mark.parametrize("value", ["https://cdn.example", "*.fbsbx.com", "cdn.example:443", ".x"])
def test_media_download_hosts_must_be_bare_host_names(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError):
        parse_hosts(value)
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("META_SECRET_ID", "s")
    monkeypatch.setenv("MEDIA_DOWNLOAD_HOSTS", value)
    with pytest.raises(ConfigurationError):
        Settings.from_env()


def test_media_download_hosts_setting_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("META_SECRET_ID", "s")
    monkeypatch.setenv("MEDIA_DOWNLOAD_HOSTS", " CDN.example.net , media.example.org ")
    assert Settings.from_env().media_download_hosts == ("cdn.example.net", "media.example.org")


# ------------------------------------------------------------------ over real sockets
class _Recorder(http.server.ThreadingHTTPServer):
    """A local HTTP server that records each request's path and Authorization header."""

    def __init__(self, answer: Callable[[_Recorder, str], tuple[int, dict[str, str], bytes]]):
        self.seen: list[tuple[str, str | None]] = []
        self.answer = answer
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.seen.append((self.path, self.headers.get("Authorization")))
                status, headers, body = recorder.answer(recorder, self.path)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def attacker() -> Iterator[_Recorder]:
    server = _Recorder(lambda srv, path: (200, {}, b"attacker's bytes"))
    yield server
    server.shutdown()
    server.server_close()


def test_over_real_sockets_no_token_reaches_a_foreign_port(s3: Any, attacker: _Recorder) -> None:
    """Graph (the emulator's role here) answers the lookup with a URL on its own origin,
    which first redirects to the attacker; the webhook names the attacker directly."""

    def meta(srv: _Recorder, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/v23.0/42":
            body = {"id": "42", "url": f"{srv.url}/media/42", "mime_type": "image/jpeg"}
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        if path == "/media/42" and not any(p == "/moved" for p, _ in srv.seen):
            return 302, {"Location": f"{attacker.url}/moved"}, b""
        return 200, {"Content-Type": "image/jpeg"}, JPEG

    graph_server = _Recorder(meta)
    try:
        graph = GraphClient(graph_server.url, "v23.0", lambda _pnid: TOKEN)
        forged = Media(id="42", url=f"{attacker.url}/steal?hash={SIGNED}")
        outcome = _cache(graph, s3, forged)
    finally:
        graph_server.shutdown()
        graph_server.server_close()

    assert attacker.seen == []
    assert outcome.error is not None and outcome.error["code"] == "untrusted_url"
    assert [p for p, _ in graph_server.seen] == ["/v23.0/42", "/media/42"]
    assert all(auth == f"Bearer {TOKEN}" for _, auth in graph_server.seen)
    assert _stored(s3) == 0
