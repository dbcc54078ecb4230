"""moto server with DynamoDB requests made atomic.

moto's in-memory DynamoDB does not serialise concurrent requests: two conditional
writes racing on one item can both succeed, which would make every at-most-once
guarantee untestable. Real DynamoDB applies each request atomically, so here every
DynamoDB request runs under one lock. SQS long polls and S3 are left concurrent.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server


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


class LocalMotoServer:
    def __init__(self, host: str, port: int) -> None:
        app = _AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="moto-server"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
