"""A tiny real stdlib HTTP server on 127.0.0.1 for tests: subclasses say how each request is
answered (a fixed answer, a proxy in front of the emulator)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


def send(request: BaseHTTPRequestHandler, status: int, payload: bytes, kind: str) -> None:
    """Answer ``request`` with ``status`` and ``payload`` of Content-Type ``kind``."""
    request.send_response(status)
    request.send_header("Content-Type", kind)
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)


class LocalServer:
    """Serves on a free port while entered; ``answer`` handles every GET/POST/PATCH/DELETE."""

    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.answer(self)

            def do_POST(self) -> None:
                outer.answer(self)

            def do_PATCH(self) -> None:
                outer.answer(self)

            def do_DELETE(self) -> None:
                outer.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Read ``request`` and answer it (each server its own way)."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The API base URL on this server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/contextcapture"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
