"""GraphClient tells "never reached Meta" from "unknown", with real sockets and httpx."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from wacloud.graph.client import GraphClient, GraphTransportError
from wacloud.graph.errors import GraphAPIError

PAYLOAD = {"messaging_product": "whatsapp", "to": "15550009999", "type": "text"}


def client(base_url: str) -> GraphClient:
    http = httpx.Client(timeout=httpx.Timeout(0.5))
    return GraphClient(base_url, "v23.0", lambda pnid: "token", http=http)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_never_reached_meta() -> None:
    with pytest.raises(GraphTransportError) as caught:
        client(f"http://127.0.0.1:{closed_port()}").send_message("1", PAYLOAD)
    assert caught.value.reached_meta is False


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and reads requests, never answers (Meta slow to respond)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def run() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(65536)
            held.append(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_read_timeout_is_an_unknown_outcome(silent_server: str) -> None:
    with pytest.raises(GraphTransportError) as caught:
        client(silent_server).send_message("1", PAYLOAD)
    assert caught.value.reached_meta is None


class _Answer(BaseHTTPRequestHandler):
    status = 502
    body = b"<html>Bad Gateway</html>"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway_502() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_5xx_without_graph_body_on_a_send_is_unknown(gateway_502: str) -> None:
    with pytest.raises(GraphTransportError) as caught:
        client(gateway_502).send_message("1", PAYLOAD)
    assert caught.value.reached_meta is None
    assert "15550009999" not in str(caught.value)


def test_5xx_without_graph_body_elsewhere_stays_an_api_error(gateway_502: str) -> None:
    with pytest.raises(GraphAPIError) as caught:
        client(gateway_502).upload_media("1", b"x", "image/png")
    assert caught.value.http_status == 502
