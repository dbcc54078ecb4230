"""Live-emulator fixtures: an Emulator on port 0 plus a tiny webhook receiver."""

from __future__ import annotations

import functools
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local.emulator import Emulator, EmulatorConfig

TOKEN = "test-token"
SECRET = "test-app-secret"
PNID = "100000000000001"
WABA = "200000000000001"
USER = "15551234567"


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


@dataclass
class Receiver:
    """Captures webhook POSTs. ``fail_next`` makes the next N answer 500."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self, environ: Any, start_response: Any) -> Any:
        req = Request(environ)
        body = req.get_data()
        with self.lock:
            self.received.append((dict(req.headers), body))
            failing = self.fail_next > 0
            if failing:
                self.fail_next -= 1
        return Response("no" if failing else "ok", status=500 if failing else 200)(
            environ, start_response
        )

    def payloads(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(b) for _, b in self.received]

    def statuses(self) -> list[dict[str, Any]]:
        out = []
        for p in self.payloads():
            for e in p["entry"]:
                for c in e["changes"]:
                    out.extend(c["value"].get("statuses", []))
        return out

    def changes(self, field_name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for p in self.payloads():
            for e in p["entry"]:
                for c in e["changes"]:
                    if field_name is None or c["field"] == field_name:
                        out.append(c)
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    server = make_server("127.0.0.1", 0, r.app, threaded=True, request_handler=_Quiet)
    r.url = f"http://127.0.0.1:{server.server_port}/webhook"
    t = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
    t.start()
    yield r
    server.shutdown()
    server.server_close()


@pytest.fixture
def emu(receiver: Receiver) -> Iterator[Emulator]:
    cfg = EmulatorConfig(port=0, token=TOKEN, app_secret=SECRET, webhook_url=receiver.url, seed=1)
    cfg.delivery.retry_base_delay = 0.01
    with Emulator(cfg) as e:
        yield e


@functools.cache
def ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emu.url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
        verify=ssl_context(),
    ) as c:
        yield c


def send(
    client: httpx.Client, payload: dict[str, Any], version: str = "v23.0", pnid: str = PNID
) -> httpx.Response:
    body = {"messaging_product": "whatsapp", **payload}
    return client.post(f"/{version}/{pnid}/messages", json=body)


def assert_error(resp: httpx.Response, code: int, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["code"] == code, resp.text
    assert err["type"] == "OAuthException"
    assert err["message"].startswith(f"(#{code}) ")
    assert isinstance(err["fbtrace_id"], str) and err["fbtrace_id"]
    return dict(err)
