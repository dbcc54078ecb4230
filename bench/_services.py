"""The Cloud API emulator and moto, each in its own process.

Why separate processes: the sender figures are *client* CPU per message, read from
this process's rusage. An in-process emulator (or `moto.mock_aws`) would add the
server side's CPU to ours and to pywa's, and compete for the GIL with the client
threads being measured.

The emulator is configured for a load test rather than a conformance test: no
webhook delivery (nothing listens), status webhooks pushed an hour out (their CPU
would compete with the client on 2 cores), and the maximum throughput Meta allows
(1,000 mps per number; benchmarks also spread sends over several phone number ids
and unique recipients so neither throughput nor pair-rate limits trip).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

import httpx

from bench._common import child_env

EMULATOR_TOKEN = "bench-token"
GRAPH_VERSION = "v23.0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_emulator() -> None:
    """Child process entry point: serve until stdin closes (the parent went away).

    Prints the base URL, then the server kind (``keep-alive`` or ``werkzeug``).
    """
    from local.emulator import Emulator, EmulatorConfig, StatusDelays

    config = EmulatorConfig(
        port=0,
        token=EMULATOR_TOKEN,
        webhook_url=None,
        throughput_mps=1000,
        messaging_limit=None,
        status_delays=StatusDelays(sent=3600.0, delivered=3601.0, read=3602.0),
    )
    emu = Emulator(config)
    try:
        server = _start_keepalive(emu)
        kind = "keep-alive"
    except (AttributeError, ImportError, TypeError):
        # The emulator's internals moved: fall back to its own (connection-closing) server.
        server, kind = None, "werkzeug"
        emu.start()
    print(emu.url, flush=True)
    print(kind, flush=True)
    try:
        sys.stdin.read()
    finally:
        if server is not None:
            server.shutdown()
            emu.scheduler.stop()
            emu.dispatcher.stop()
        else:
            emu.stop()


def _start_keepalive(emu: Any) -> Any:
    """Serve the emulator's WSGI app over HTTP/1.1 keep-alive.

    Why not ``emu.start()``: werkzeug's development server sends ``Connection: close``
    on every response, so each request would pay a TCP connect and close on the client.
    Meta (and any production HTTP server) keeps connections alive, and both clients
    reuse them; measuring connection setup instead would misstate client CPU per
    message several times over. This mirrors ``Emulator.start()`` otherwise.
    """
    server = _keepalive_server(emu.app)
    emu.url = f"http://127.0.0.1:{server.server_address[1]}"
    emu.core.base_url = emu.url
    emu.scheduler.start()
    emu.dispatcher.start()
    return server


def _keepalive_server(app: Any) -> Any:
    """A WSGI app on an HTTP/1.1 keep-alive server (127.0.0.1, a free port), serving."""
    import io
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _wsgi(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            environ: dict[str, Any] = {
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "SCRIPT_NAME": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": str(getattr(self.server, "server_port", 0)),
                "SERVER_PROTOCOL": self.request_version,
                "REMOTE_ADDR": "127.0.0.1",
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(length),
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr,
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": "http",
                "wsgi.multithread": True,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
            for key, value in self.headers.items():
                name = key.upper().replace("-", "_")
                if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                    environ["HTTP_" + name] = value
            status_headers: list[Any] = []

            def start_response(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Any:
                status_headers[:] = [status, headers]
                return lambda data: None

            chunks = app(environ, start_response)
            data = b"".join(chunks)
            status, headers = status_headers
            self.send_response(int(status.split(" ", 1)[0]), status.split(" ", 1)[1])
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = do_PATCH = _wsgi  # noqa: N815

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, name="keepalive-http", daemon=True).start()
    return server


def serve_moto_keepalive() -> None:
    """Child process entry point: moto's server app over keep-alive until stdin closes.

    Why: moto's own server (werkzeug) closes the connection after every response, so
    every boto3 call would pay a TCP connect and close that DynamoDB, which keeps
    connections alive, never charges (same reasoning as `_start_keepalive`).
    Prints the base URL.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    server = _keepalive_server(DomainDispatcherApplication(create_backend_app))
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.shutdown()


class _Child:
    """A helper process that is killed (by its own pid) when the context exits."""

    #: The child exits by itself when its stdin closes (else it is terminated).
    stops_on_eof = True

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is None:
            return
        if self.proc.stdin:
            self.proc.stdin.close()
        if not self.stops_on_eof:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


class EmulatorProcess(_Child):
    """`local.emulator.Emulator` in a child process; latency set over its control API."""

    url = ""
    server_kind = ""

    def __enter__(self) -> EmulatorProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from bench._services import serve_emulator; serve_emulator()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            raise RuntimeError(f"emulator did not start (got {line!r})")
        self.url = line
        self.server_kind = self.proc.stdout.readline().strip()
        return self

    def control(self, method: str, action: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator/{action}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def set_latency_ms(self, ms: float) -> None:
        self.control("POST", "faults/latency", {"ms": ms} if ms else {})

    def sent_count(self) -> int:
        return len(self.control("GET", "sent")["data"])


class MotoProcess(_Child):
    """moto's server mode in a child process (boto3's client-side CPU stays ours).

    `keep_alive=True` serves moto's app over HTTP/1.1 keep-alive instead of moto's
    werkzeug server, which closes every connection (`serve_moto_keepalive`).
    """

    url = ""
    stops_on_eof = False

    def __init__(self, *, keep_alive: bool = False) -> None:
        super().__init__()
        self.keep_alive = keep_alive

    def __enter__(self) -> MotoProcess:
        if self.keep_alive:
            self.stops_on_eof = True
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from bench._services import serve_moto_keepalive; serve_moto_keepalive()",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=child_env(),
            )
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline().strip()
            if not line.startswith("http"):
                raise RuntimeError(f"moto did not start (got {line!r})")
            self.url = line
            return self
        port = _free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from moto.server import main; main(['-H', '127.0.0.1', '-p', '{port}'])",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            env=child_env(),
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start")

    def aws_environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }


def apply_environment(values: dict[str, str]) -> None:
    """Set variables in this process (the in-process Lambda handler reads them)."""
    os.environ.update(values)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def create_template_resources(
    moto: MotoProcess,
    logical_ids: tuple[str, ...],
    *,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    stack_name: str = "bench",
) -> tuple[Any, dict[str, str]]:
    """Create template.yaml's resources `logical_ids` in `moto` with the local stack's
    own code (local.resources), so a benchmark's tables and queues are the deployed ones.

    Returns a boto3 session whose clients talk to `moto` (explicitly: an
    ``AWS_ENDPOINT_URL_<SERVICE>`` set for the code under test must not catch these)
    and the resolved ``Ref`` of each resource.
    """
    import boto3

    from local.resources import create_resources
    from local.template import Resolver, load_sam_template

    sam = load_sam_template()
    wanted = {k: v for k, v in sam["Resources"].items() if k in logical_ids}
    session: Any = boto3.session.Session(
        region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    original = session.client

    def client(service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", moto.url)
        return original(service, **kwargs)

    session.client = client
    resolver = Resolver(region=region, account_id=account_id, stack_name=stack_name)
    resolver.parameters = {k: v.get("Default") for k, v in sam.get("Parameters", {}).items()}
    create_resources(wanted, resolver, session)
    return session, dict(resolver.refs)
