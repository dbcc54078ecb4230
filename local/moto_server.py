"""moto server in its own process, with DynamoDB requests made atomic.

Its own process: moto is pure Python, and sharing one interpreter (one GIL) with the
gateway, the pollers and the emulator made it the bottleneck of the whole local stack.

Atomic DynamoDB: moto's in-memory DynamoDB does not serialise concurrent requests, so
two conditional writes racing on one item could both succeed, which would make every
at-most-once guarantee untestable. Real DynamoDB applies each request atomically, so
here every DynamoDB request runs under one lock. SQS long polls and S3 stay concurrent.

Faster DynamoDB: `local.moto_speedups` removes two costs of moto's that grow with the
table (a sort of the whole table per Query, a model-driven walk of every response).
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from typing import Any


class _AtomicDynamoDB:
    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self._lock:
                # Materialise the body inside the lock: the write happens as it is built.
                return list(self._app(environ, start_response))
        return self._app(environ, start_response)


def _serve(host: str, port: int) -> None:
    import logging
    import signal

    # Ctrl-C reaches the terminal's whole process group. The parent stops its parts in
    # order (LocalStack.stop: pollers and schedules first, moto last), so an invocation
    # still running at that moment finishes its calls instead of meeting a dead server.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class Handler(MotoRequestHandler):
        # Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold every small
        # response for up to 40 ms: most of a local request's latency.
        disable_nagle_algorithm = True

    from local import firehose, moto_speedups, moto_sqs_moves

    moto_speedups.apply()
    moto_sqs_moves.apply()
    # Firehose delivers to S3 as the stream's configuration says (local/firehose.py).
    firehose.apply()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = _AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))
    make_server(host, port, app, threaded=True, request_handler=Handler).serve_forever()


class LocalMotoServer:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(host, port), daemon=True, name="moto-server"
        )

    def start(self, timeout: float = 60.0) -> None:
        self._process.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._process.is_alive():
                raise RuntimeError("moto server exited during start-up")
            try:
                with socket.create_connection((self._host, self._port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"moto server did not listen on {self._host}:{self._port}")

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(timeout=10)
