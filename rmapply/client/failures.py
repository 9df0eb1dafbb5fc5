"""Transport failures into NotSentError (never reached the server) or OutcomeUnknownError."""

from __future__ import annotations

from typing import Any

from rmapply.client.transport import NeverSent, TransportFailure
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


def classify(failure: TransportFailure, method: str, path: str, host: str) -> TransportError:
    """The client's TransportError for a failed send, as the transport sorted it.

    NeverSent becomes SendFailedError (safe to send again unless TLS failed); MaybeSent and
    TimedOutAfterSending become OutcomeUnknownError, which a POST must never repeat blindly.
    """
    where = f"{method} {path}"
    if isinstance(failure, NeverSent):
        if failure.stage == "tls":
            return SendFailedError(
                f"{where}: TLS handshake with {host} failed ({failure.what})",
                retryable=False,
                method=method,
                path=path,
                hint=TLS_HINT,
            )
        return SendFailedError(
            f"{where}: could not connect to {host} ({failure.what})",
            retryable=True,
            method=method,
            path=path,
            hint=NOT_SENT_HINT,
        )
    what = failure.what
    if method != "GET":
        what += "; the request may have been processed"
    return OutcomeUnknownError(f"{where}: {what}", method=method, path=path, hint=UNKNOWN_HINT)
