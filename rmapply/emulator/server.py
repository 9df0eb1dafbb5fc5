"""The HTTP/1.1 server: keep-alive connections, one thread each, optional TLS, quiet logs."""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rmapply.emulator import problems
from rmapply.emulator.routes import JSON, Application

MAX_BODY = 16 * 1024 * 1024
_TOO_LARGE = f"The request body is larger than {MAX_BODY} bytes."


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, asks the Application, writes its Answer (or closes the connection)."""

    protocol_version = "HTTP/1.1"
    server_version = "rmapply-emulator"
    sys_version = ""
    server: EmulatorHTTPServer

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header: the emulator's clock (it moves with ``advance()``), not ours."""
        moment = self.server.app.clock_seconds() if timestamp is None else timestamp
        return email.utils.formatdate(moment, usegmt=True)

    def _serve(self) -> None:
        body = self._body()
        if body is None:
            return  # refused (and answered) while reading
        answer = self.server.app.handle(
            self.command, self.path, self.headers.get("Authorization"), body
        )
        if answer.drop:
            # The change is committed; the client never learns it (the duplicate-maker case).
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.body:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if answer.body and self.command != "HEAD":
            self.wfile.write(answer.body)

    def _body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None when it was refused (answered)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024).split(b";")[0].strip()
                if not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size_line):
                    self.send_error(400, "The chunked request body is malformed.")
                    return None
                size = int(size_line, 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    self.send_error(413, _TOO_LARGE)
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        raw = (self.headers.get("Content-Length") or "").strip()
        if raw and not re.fullmatch(r"[0-9]{1,12}", raw):
            self.send_error(400, "The Content-Length header is not a number of bytes.")
            return None
        length = int(raw) if raw else 0
        if length > MAX_BODY:
            self.send_error(413, _TOO_LARGE)
            return None
        return self.rfile.read(length) if length else b""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer an HTTP-level refusal in the API's error shape (JSON), then close."""
        problem = problems.http_error(code, message)
        body = json.dumps(problem.body(), separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")  # what was not read cannot be skipped
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        # Any other method (PUT, QUERY, ...) reaches the application, which answers 405.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a benchmark or test run would drown in access logs."""


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading server whose threads die with the process; TLS is wrapped per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        app: Application,
        tls: ssl.SSLContext | None = None,
        *,
        reserved: socket.socket | None = None,
    ) -> None:
        if reserved is None:
            super().__init__(address, _Handler)
        else:  # listen on the socket reserved earlier (startup.reserve): the same port
            super().__init__(reserved.getsockname(), _Handler, bind_and_activate=False)
            self.socket.close()
            self.socket = reserved
            try:
                host, port = reserved.getsockname()[:2]
                self.server_address = (host, port)
                self.server_name, self.server_port = socket.getfqdn(host), port
                self.server_activate()
            except BaseException:
                self.server_close()
                raise
        self.app = app
        self.tls = tls
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def close_connections(self) -> None:
        """Cut every open keep-alive connection (so a stopped emulator answers nothing more)."""
        with self._open_lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Run the handler; with TLS, the handshake happens here, in the connection's thread."""
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with self._open_lock:
            self._open.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)
            if self.tls is not None:
                request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request is not an error worth printing."""


def tls_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server-side TLS context from a PEM certificate and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context


def serve_in_thread(server: EmulatorHTTPServer) -> threading.Thread:
    """Start ``serve_forever`` in a daemon thread."""
    # how often the loop looks for a stop request: stopping waits half of it on average, which
    # every --local command pays at its end; an idle wake-up costs microseconds
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True
    )
    thread.name = "rmapply-emulator"
    thread.start()
    return thread
