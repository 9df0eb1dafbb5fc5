"""HTTP answers into wire models, or into the ApiError a user can act on."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError
from pydantic_core import from_json

from rmapply.client.transport import HttpAnswer
from rmapply.errors import (
    ApiError,
    ApiErrorDetail,
    AuthenticationError,
    InvalidChangeError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
)
from rmapply.wire import WireModel

if TYPE_CHECKING:
    from datetime import datetime

M = TypeVar("M", bound=WireModel)

NO_TOKEN_HINT = (
    "no token was sent; set RMAPPLY_TOKEN, or RMAPPLY_CLIENT_ID and RMAPPLY_CLIENT_SECRET"
)
TOKEN_REFUSED_HINT = (
    "the service refused the token (expired, issued for another environment, or without the "
    "'itwin-platform' scope); set a fresh RMAPPLY_TOKEN, or use RMAPPLY_CLIENT_ID and "
    "RMAPPLY_CLIENT_SECRET so rmapply fetches tokens itself"
)
FORBIDDEN_HINT = (
    "the caller may not use this iTwin; a service client must be a member of the iTwin "
    "(as <client id>@apps.imsoidc.bentley.com)"
)
NOT_FOUND_HINTS = {
    "JobNotFound": "the job does not exist or this caller cannot see it (deleted outside rmapply?)",
    "WorkspaceNotFound": "the workspace does not exist or this caller cannot see it",
    "iTwinNotFound": "check the iTwin id and that the caller is a member of that iTwin",
}
REJECTED_HINT = (
    "the service refused the request and changed nothing; correct the fields named above"
)
INVALID_CHANGE_HINT = (
    "the job's current state does not allow this change; read the job again and plan again"
)
RATE_LIMITED_HINT = (
    "the service keeps rate limiting this client; wait a few minutes and run again, or use "
    "fewer parallel workers"
)
SERVER_HINT = "the service failed; try again later"
TIMED_OUT_HINT = (
    "the service (or a gateway before it) gave up waiting, but the request may still have been "
    "processed, so it was not sent again blindly; read the resource (or list jobs) first"
)
# answers that say "timed out", not "refused": the request may be processed all the same
# (408 Request Timeout, 499 Client Closed Request of nginx-style gateways, 504 Gateway Timeout)
TIMEOUT_STATUSES = (408, 499, 504)
SERVER_POST_HINT = (
    "the service failed; the request was not sent again because it creates something and may "
    "have been processed: check whether it exists before creating it again"
)


def error_from_response(
    response: HttpAnswer,
    method: str,
    path: str,
    *,
    scrub: Callable[[str], str] = lambda text: text,
) -> ApiError:
    """The ApiError for an error answer, built from status, code and message only."""
    status = response.status
    code, api_message, target, details = _error_body(response)
    where = f"{method} {path}"
    if code:
        head = f"{status} {code}: {api_message}" if api_message else f"{status} {code}"
    else:
        reason = response.reason or "error"
        head = f"{status} {reason} (the answer carried no API error body)"
    parts = [head]
    parts += [f"{d.target}: {d.message}" if d.target else d.message for d in details]
    message = scrub(f"{where}: " + " ".join(p for p in parts if p))
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "code": code,
        "api_message": scrub(api_message) if api_message else api_message,
        "details": tuple(ApiErrorDetail(d.code, scrub(d.message), d.target) for d in details),
        "target": target,
    }
    if status == 401:
        hint = NO_TOKEN_HINT if code == "HeaderNotFound" else TOKEN_REFUSED_HINT
        return AuthenticationError(message, hint=hint, **fields)
    if status == 403:
        return AuthenticationError(message, hint=FORBIDDEN_HINT, **fields)
    if status == 404:
        hint = NOT_FOUND_HINTS.get(code or "", "check the id in the request")
        return NotFoundError(message, hint=hint, **fields)
    if status == 422:
        if any(d.code == "InvalidChange" for d in details):
            return InvalidChangeError(message, hint=INVALID_CHANGE_HINT, **fields)
        return RequestRejectedError(message, hint=REJECTED_HINT, **fields)
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return RateLimitedError(message, hint=RATE_LIMITED_HINT, retry_after=retry_after, **fields)
    if status in TIMEOUT_STATUSES and (status != 504 or method != "GET"):
        # a 504 to a GET stays a server error (retried the same way); to a POST or PATCH it
        # means the outcome is unknown, like a lost answer
        return OutcomeUnknownError(message, hint=TIMED_OUT_HINT, **fields)
    if status >= 500:
        hint = SERVER_POST_HINT if method == "POST" else SERVER_HINT
        return ServerError(message, hint=hint, **fields)
    return ApiError(message, hint="the service refused the request", **fields)


def _error_body(
    response: HttpAnswer,
) -> tuple[str | None, str | None, str | None, list[ApiErrorDetail]]:
    """Code, message, target and details of an error body; all empty when it is not JSON."""
    try:
        body = json.loads(response.body)
    except ValueError:
        return None, None, None, []
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        # OAuth token endpoints answer {"error": "invalid_client", "error_description": ...}.
        description = body.get("error_description")
        return error, description if isinstance(description, str) else None, None, []
    if not isinstance(error, dict):
        return None, None, None, []
    details = [
        ApiErrorDetail(
            code=_text(item.get("code")) or "",
            message=_text(item.get("message")) or "",
            target=_text(item.get("target")),
        )
        for item in error.get("details") or []
        if isinstance(item, dict)
    ]
    return (
        _text(error.get("code")),
        _text(error.get("message")),
        _text(error.get("target")),
        details,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (seconds or HTTP-date); None if unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = _parsedate(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def page_items(body: bytes, count: int) -> list[Any] | None:
    """The items of a page's ``jobs`` list as plain JSON data, in the order the page's model
    holds them; None when the body does not hold exactly ``count`` of them."""
    try:
        data = from_json(body)
    except ValueError:
        return None
    items = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) != count:
        return None
    return items


def parse_answer(
    model: type[M],
    response: HttpAnswer,
    method: str,
    path: str,
    *,
    processed: bool = False,
) -> M:
    """The wire model of a success answer, tolerant of fields the spec does not know.

    An answer that cannot be read raises ApiError; with ``processed`` (a POST that the service
    accepted) it raises OutcomeUnknownError instead, since something was created but we do not
    know what.
    """
    try:
        # the whole body in one pass of pydantic-core (a page of a thousand jobs is read
        # several times faster than json.loads and a validation of the objects)
        return model.model_validate_json(response.body)
    except ValidationError:
        pass  # unknown fields, not JSON, a wrong value: the tolerant path below says which
    problem: str
    unknown_value = False
    try:
        return model.from_answer(json.loads(response.body))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(body)"
            problem = f"{exc.error_count()} problem(s), first at {loc}: {first['msg']}"
            unknown_value = all(e["type"] in ("enum", "literal_error") for e in exc.errors())
        else:
            problem = "the body is not JSON"
        cause: Exception = exc
    where = f"{method} {path}"
    message = f"{where}: {response.status} answer could not be read as {model.__name__}: {problem}"
    if processed:
        raise OutcomeUnknownError(
            message,
            method=method,
            path=path,
            status=response.status,
            hint="the service accepted the request but its answer is unreadable; "
            "look for the created resource before creating it again",
        ) from cause
    hint = (
        "the service sent a value this version of rmapply does not know (a new format, "
        "location or state?); upgrade rmapply"
        if unknown_value
        else "the service answered in an unexpected shape; check the endpoint URL"
    )
    raise ApiError(message, method=method, path=path, status=response.status, hint=hint) from cause


def _parsedate(value: str) -> datetime:
    import email.utils  # here: a no-op plan reads no date header (email costs about 3 ms)

    return email.utils.parsedate_to_datetime(value)
