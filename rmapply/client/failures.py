"""Transport failures into NotSentError (never reached the server) or OutcomeUnknownError."""

from __future__ import annotations

import socket
from typing import Any

import urllib3.exceptions as u3

from rmapply.errors import NotSentError, OutcomeUnknownError, TransportError

NOT_SENT_HINT = (
    "nothing reached the service, so it is safe to run again; check the endpoint URL and the "
    "network (proxy, firewall, DNS)"
)
TLS_HINT = (
    "the TLS handshake failed, so nothing was sent; check the endpoint URL, or set "
    "REQUESTS_CA_BUNDLE to a CA bundle that trusts the endpoint's certificate"
)
UNKNOWN_HINT = (
    "the request may have been processed, so it was not sent again blindly; read the resource "
    "(or list jobs) to learn what happened before repeating it"
)


class SendFailedError(NotSentError):
    """NotSentError that says whether sending again can help (a bad certificate cannot)."""

    def __init__(self, message: str, *, retryable: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retryable = retryable


def classify(exc: Exception, method: str, path: str, host: str) -> TransportError:
    """The TransportError for a failed send: was the request certainly not sent, or maybe sent?

    urllib3 runs with retries off, so its own exception arrives as is. A failure while opening
    the connection (refused, DNS, connect timeout, TLS verification) means nothing was sent.
    Anything after the connection was open (reset, closed without an answer, read timeout, a
    pooled keep-alive connection the server had just closed) may have reached the server, and
    is ambiguous for a POST.
    """
    where = f"{method} {path}"
    if isinstance(exc, u3.SSLError) and _is_handshake_failure(exc):
        trust = "CERTIFICATE_VERIFY_FAILED" in str(exc)
        return SendFailedError(
            f"{where}: TLS handshake with {host} failed "
            f"({'certificate not trusted' if trust else 'handshake error'})",
            retryable=False,
            method=method,
            path=path,
            hint=TLS_HINT,
        )
    if isinstance(exc, u3.NewConnectionError | u3.ConnectTimeoutError | u3.ProxyError):
        return SendFailedError(
            f"{where}: could not connect to {host} ({_connect_reason(exc)})",
            retryable=True,
            method=method,
            path=path,
            hint=NOT_SENT_HINT,
        )
    if isinstance(exc, u3.ReadTimeoutError):
        what = "no answer within the read timeout"
    elif isinstance(exc, u3.ProtocolError) and _is_closed(exc):
        what = "the connection was closed before an answer came back"
    elif isinstance(exc, u3.ProtocolError | u3.DecodeError):
        what = "the answer was cut off"
    else:
        what = f"the request failed ({type(exc).__name__})"
    if method != "GET":
        what += "; the request may have been processed"
    return OutcomeUnknownError(f"{where}: {what}", method=method, path=path, hint=UNKNOWN_HINT)


def _connect_reason(exc: BaseException) -> str:
    if isinstance(exc, u3.ProxyError):
        return "the proxy could not be reached"
    if isinstance(exc, u3.NameResolutionError):
        return "host name not resolved"
    if isinstance(exc, u3.NewConnectionError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not resolved"
        if isinstance(cause, TimeoutError):
            return "connect timeout"
        return "connection failed"
    return "connect timeout"


_HANDSHAKE_MARKERS = (
    "CERTIFICATE_VERIFY_FAILED",
    "WRONG_VERSION_NUMBER",
    "UNSUPPORTED_PROTOCOL",
    "hostname",
    "handshake",
)


def _is_handshake_failure(exc: u3.SSLError) -> bool:
    # Errors of the handshake happen before any byte of the request is sent.
    text = str(exc)
    return any(marker.lower() in text.lower() for marker in _HANDSHAKE_MARKERS)


def _is_closed(exc: u3.ProtocolError) -> bool:
    cause = exc.args[1] if len(exc.args) > 1 else None
    return isinstance(cause, ConnectionError | OSError) or "closed" in str(exc).lower()
