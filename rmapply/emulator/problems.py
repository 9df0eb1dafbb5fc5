"""The API's error answers as data: status, code, message, details, rendered once as a body."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

RATE_LIMIT_MESSAGE = (
    "The client sent more requests than allowed by this API for the current tier of the client."
)


class Detail(NamedTuple):
    """One entry of an error's ``details`` array."""

    code: str
    message: str
    target: str | None = None


@dataclass(eq=False)
class Problem(Exception):  # noqa: N818 - it is an answer, raised to unwind a handler
    """An error answer of the API; raised by the rules, rendered by the server."""

    status: int
    code: str
    message: str
    details: tuple[Detail, ...] | None = None
    target: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON body, shaped as ErrorResponse or (with details) DetailedErrorResponse."""
        # made on first use: a session whose every call succeeds renders no error body
        from rmapply.wire import DetailedError, DetailedErrorResponse, ErrorDetail, ErrorResponse

        if self.details is None:
            return ErrorResponse(
                error=ErrorDetail(code=self.code, message=self.message, target=self.target)
            ).to_wire()
        return DetailedErrorResponse(
            error=DetailedError(
                code=self.code,
                message=self.message,
                target=self.target,
                details=[
                    ErrorDetail(code=d.code, message=d.message, target=d.target)
                    for d in self.details
                ],
            )
        ).to_wire()


def header_not_found() -> Problem:
    """401: no Authorization header at all."""
    return Problem(
        401,
        "HeaderNotFound",
        "Header Authorization was not found in the request. Access denied.",
    )


def unauthorized(reason: str = "invalid") -> Problem:
    """401: the token is malformed, unknown or expired (code chosen by the emulator)."""
    return Problem(401, "Unauthorized", f"Access denied due to {reason} access token.")


def job_not_found() -> Problem:
    """404 JobNotFound."""
    return Problem(404, "JobNotFound", "Requested job is not available.")


def workspace_not_found() -> Problem:
    """404 WorkspaceNotFound."""
    return Problem(404, "WorkspaceNotFound", "Requested workspace is not available.")


def itwin_not_found() -> Problem:
    """404 iTwinNotFound."""
    return Problem(404, "iTwinNotFound", "Requested iTwin is not available.")


def invalid_request(message: str, details: Sequence[Detail]) -> Problem:
    """422 InvalidContextCaptureRequest with its details (all problems at once)."""
    return Problem(422, "InvalidContextCaptureRequest", message, details=tuple(details))


def invalid_change(message: str, detail: str) -> Problem:
    """422 InvalidContextCaptureRequest with one InvalidChange detail."""
    return invalid_request(message, [Detail("InvalidChange", detail)])


def invalid_listing(details: Sequence[Detail]) -> Problem:
    """422 InvalidRealityModelingRequest for GET /jobs (bad $top, $filter or token)."""
    return Problem(
        422, "InvalidRealityModelingRequest", "Cannot find jobs.", details=tuple(details)
    )


def rate_limited(retry_after: int, operation: str, application: str) -> Problem:
    """429 RateLimitExceeded with Retry-After and the ITwinPlatform-RateLimited-* headers."""
    return Problem(
        429,
        "RateLimitExceeded",
        RATE_LIMIT_MESSAGE,
        headers={
            "Retry-After": str(retry_after),
            "ITwinPlatform-RateLimited-Tier": "Emulator",
            "ITwinPlatform-RateLimited-API": "contextcapture",
            "ITwinPlatform-RateLimited-Operation": operation,
            "ITwinPlatform-RateLimited-Application": application,
        },
    )


def service_unavailable() -> Problem:
    """503 injected by the fault switches (answered before any processing)."""
    return Problem(
        503,
        "ServiceUnavailable",
        "The service is temporarily unavailable. Try again later.",
        headers={"Retry-After": "1"},
    )


def route_not_found() -> Problem:
    """404 for a path the API does not have."""
    return Problem(404, "ResourceNotFound", "The requested resource does not exist.")


def method_not_allowed(allowed: Sequence[str]) -> Problem:
    """405 for a method the path does not support."""
    return Problem(
        405,
        "MethodNotAllowed",
        "The requested method is not allowed for this resource.",
        headers={"Allow": ", ".join(allowed)},
    )


def http_error(status: int, message: str | None = None) -> Problem:
    """An HTTP-level refusal (bad request line, URI or headers too long, body too large).

    The code is the status phrase in the API's PascalCase (414 -> ``RequestUriTooLong``); 413's
    is fixed, as its phrase changed between Python versions.
    """
    from http import HTTPStatus  # here: only an HTTP-level refusal needs the phrases

    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = _HTTP_CODES.get(status) or "".join(
        w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", phrase) if w
    )
    return Problem(status, code, message or f"{phrase}.")


_HTTP_CODES = {413: "ContentTooLarge"}
