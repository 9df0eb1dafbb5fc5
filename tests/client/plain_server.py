"""A tiny real HTTP server answering every request alike (bodies the emulator never sends)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Seen:
    """One request as the server received it: method, raw target, headers, body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class PlainServer:
    """Answers every request with one status, body (or body from the request headers) and type."""

    def __init__(
        self, status: int, body: bytes | Callable[[Message], bytes], content_type: str
    ) -> None:
        outer = self
        self.requests = 0
        self.seen: list[Seen] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                outer.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                received = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.seen.append(Seen(self.command, self.path, headers, received))
                payload = body(self.headers) if callable(body) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_PATCH(self) -> None:
                self._answer()

            def do_DELETE(self) -> None:
                self._answer()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """A base URL on this server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/contextcapture"

    def __enter__(self) -> PlainServer:
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
