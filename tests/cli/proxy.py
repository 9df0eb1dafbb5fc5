"""A tiny stdlib HTTP proxy in front of the emulator, at one stable URL, that can turn into the
things a user's network puts there: an HTML 404 page, a JSON 404 of another shape, a listing that
shows no jobs."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

from tests.local_server import LocalServer, send

FORWARD = "forward"  # pass every request to the emulator unchanged
HTML_404 = "html-404"  # a proxy or web server answering its own "Not Found" page
JSON_404 = "json-404"  # a JSON 404 without the API's error body (another service's gateway)
EMPTY_LIST = "empty-list"  # GET /jobs?... shows no jobs; everything else is forwarded

HTML_PAGE = b"<html><body><h1>404 Not Found</h1><p>nginx</p></body></html>"
OTHER_JSON = json.dumps({"statusCode": 404, "message": "Resource not found"}).encode()


class Proxy(LocalServer):
    """Forwards to ``target`` (a root URL like ``http://127.0.0.1:PORT``) as ``mode`` says."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.mode = FORWARD

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Answer as ``mode`` says, forwarding to the target when it says so."""
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        if self.mode == HTML_404:
            send(request, 404, HTML_PAGE, "text/html")
        elif self.mode == JSON_404:
            send(request, 404, OTHER_JSON, "application/json")
        elif self.mode == EMPTY_LIST and request.path.startswith("/contextcapture/jobs?"):
            send(request, 200, json.dumps({"jobs": []}).encode(), "application/json")
        else:
            self._forward(request, body)

    def _forward(self, request: BaseHTTPRequestHandler, body: bytes | None) -> None:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "connection")
        }
        forwarded = urllib.request.Request(
            self.target + request.path, data=body, headers=headers, method=request.command
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as answer:
                status, payload = answer.status, answer.read()
                kind = answer.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
            kind = exc.headers.get("Content-Type", "application/json")
        send(request, status, payload, kind)
