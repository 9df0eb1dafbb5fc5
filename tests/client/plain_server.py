"""A tiny real HTTP server answering every request alike (bodies the emulator never sends)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler

from tests.local_server import LocalServer, send


@dataclass(frozen=True)
class Seen:
    """One request as the server received it: method, raw target, headers, body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class PlainServer(LocalServer):
    """Answers every request with one status, body (or body from the request headers) and type."""

    def __init__(
        self, status: int, body: bytes | Callable[[Message], bytes], content_type: str
    ) -> None:
        super().__init__()
        self.status, self.body, self.content_type = status, body, content_type
        self.requests = 0
        self.seen: list[Seen] = []

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Record ``request``, then answer it with this server's one answer."""
        self.requests += 1
        length = int(request.headers.get("Content-Length") or 0)
        received = request.rfile.read(length)
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.seen.append(Seen(request.command, request.path, headers, received))
        body = self.body
        payload = body(request.headers) if callable(body) else body
        send(request, self.status, payload, self.content_type)
