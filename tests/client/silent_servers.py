"""Real sockets that fail in the three ways a transport must tell apart."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: every connection to it is refused (and no one takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return data


class SilentServer:
    """Accepts connections and reads each request; then closes, or answers once released."""

    def __init__(self, *, answer_when_released: bool) -> None:
        self.requests: list[bytes] = []
        self.released = threading.Event()
        self._answer = answer_when_released
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with conn:
                self.requests.append(_read_request(conn))
                if self._answer:
                    # The test releases the answer only after the client gave up waiting.
                    self.released.wait(30)
                    with contextlib.suppress(OSError):  # the client has gone
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    def close(self) -> None:
        """Stop accepting and let a held answer go."""
        self.released.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self._thread.join(5)


@contextmanager
def silent_server(*, answer_when_released: bool = False) -> Iterator[SilentServer]:
    """A SilentServer for the block."""
    server = SilentServer(answer_when_released=answer_when_released)
    try:
        yield server
    finally:
        server.close()
