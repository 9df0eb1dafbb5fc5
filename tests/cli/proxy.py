"""A tiny stdlib HTTP proxy in front of the emulator, at one stable URL, that can turn into the
things a user's network puts there: an HTML 404 page, a JSON 404 of another shape, a listing that
shows no jobs."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

FORWARD = "forward"  # pass every request to the emulator unchanged
HTML_404 = "html-404"  # a proxy or web server answering its own "Not Found" page
JSON_404 = "json-404"  # a JSON 404 without the API's error body (another service's gateway)
EMPTY_LIST = "empty-list"  # GET /jobs?... shows no jobs; everything else is forwarded

HTML_PAGE = b"<html><body><h1>404 Not Found</h1><p>nginx</p></body></html>"
OTHER_JSON = json.dumps({"statusCode": 404, "message": "Resource not found"}).encode()


class Proxy:
    """Forwards to ``target`` (a root URL like ``http://127.0.0.1:PORT``) as ``mode`` says."""

    def __init__(self, target: str) -> None:
        self.mode = FORWARD
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if outer.mode == HTML_404:
                    self._send(404, HTML_PAGE, "text/html")
                elif outer.mode == JSON_404:
                    self._send(404, OTHER_JSON, "application/json")
                elif outer.mode == EMPTY_LIST and self.path.startswith("/contextcapture/jobs?"):
                    self._send(200, json.dumps({"jobs": []}).encode(), "application/json")
                else:
                    self._forward(body)

            def _forward(self, body: bytes | None) -> None:
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                request = urllib.request.Request(
                    target + self.path, data=body, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, payload = answer.status, answer.read()
                        kind = answer.headers.get("Content-Type", "application/json")
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                    kind = exc.headers.get("Content-Type", "application/json")
                self._send(status, payload, kind)

            def _send(self, status: int, payload: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
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
        """The API base URL through this proxy."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/contextcapture"

    def __enter__(self) -> Proxy:
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
