"""The one exception tree of rmapply; every room raises these and only the CLI prints them."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

REDACTED = "***"


# scheme://userinfo@ -- the userinfo runs to the last "@" before the host's end, as urlsplit
# reads it, so a password holding an unencoded "@" is redacted whole.
# Compiled on first use: every command imports this module, few ever redact a URL.
@functools.cache
def _userinfo() -> re.Pattern[str]:
    return re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")


def redact_urls(text: str) -> str:
    """``text`` with the userinfo of every URL in it shown as ``***`` (``https://***@host/``).

    The one function every message that mentions a URL goes through: an endpoint written as
    ``https://user:password@host/`` must never show its password in an error, a log or a plan.
    """
    return _userinfo().sub(rf"\1{REDACTED}@", text)


class RmapplyError(Exception):
    """Base of every error a user can act on: a message, an optional hint and an exit code.

    Message and hint are redacted on the way in (``redact_urls``): no error shows a URL's userinfo.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = redact_urls(message)
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else redact_urls(hint)

    def __str__(self) -> str:
        return self.message


class ConfigError(RmapplyError):
    """rmapply.toml, an option or an environment variable is wrong."""


# Named tuples, not dataclasses: built at import for a third of a dataclass's cost. Problems
# sort field by field as before; severity now counts last, which only a warning and an error
# of one message at one place could notice, and no warning shares an error's message.
class ManifestProblem(NamedTuple):
    """One problem in the manifests, located as precisely as the source allows."""

    file: str
    line: int = 0
    column: int = 0
    path: str = ""
    message: str = ""
    severity: str = "error"

    def render(self) -> str:
        """GNU style: ``file:line:col: path: message``."""
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        prefix = f"{self.path}: " if self.path else ""
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {label}{prefix}{self.message}"


class ManifestError(RmapplyError):
    """All problems of one manifests run, reported together."""

    def __init__(self, problems: Sequence[ManifestProblem], *, hint: str | None = None) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        lines = "\n".join(p.render() for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{count} {noun} in the manifests:\n{lines}",
            hint=hint or "fix the places named above and run 'rmapply validate' again",
        )


class StateError(RmapplyError):
    """The state file cannot be used as it is."""


class StateLockedError(StateError):
    """Another process holds the state lock."""

    def __init__(
        self, message: str, *, holder: Mapping[str, Any] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.holder = dict(holder or {})


class StateCorruptError(StateError):
    """The state file does not parse or fails its schema; it is never overwritten."""


class StateVersionError(StateError):
    """The state file was written by a newer format version."""


class StateEndpointMismatchError(StateError):
    """The state was made against another endpoint or iTwin than this command talks to."""


class StateTracesError(StateError):
    """The state file is missing or empty while traces of an earlier state remain beside it."""


class PlanError(RmapplyError):
    """A plan cannot be made or used."""


class StalePlanError(PlanError):
    """A saved plan no longer matches the state or the manifests."""


class CostLimitError(PlanError):
    """The estimated cost of a plan is above the configured budget."""


class ApplyError(RmapplyError):
    """Apply finished with failures; the summary says what was done, failed and skipped."""

    def __init__(
        self, message: str, *, summary: Mapping[str, Any] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.summary = dict(summary or {})


class ApiErrorDetail(NamedTuple):
    """One entry of an API error's ``details`` array."""

    code: str
    message: str
    target: str | None = None


class ApiError(RmapplyError):
    """The Reality Modeling API answered with an error, or did not answer at all."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        code: str | None = None,
        api_message: str | None = None,
        details: Sequence[ApiErrorDetail] = (),
        target: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.method = method
        self.path = redact_urls(path)
        self.status = status
        self.code = code
        self.api_message = api_message
        self.details = tuple(details)
        self.target = target


class AuthenticationError(ApiError):
    """401 or 403: no token, a wrong token, or not enough rights."""


class NotFoundError(ApiError):
    """404: the job, workspace or iTwin does not exist (for this caller)."""


class RequestRejectedError(ApiError):
    """422 with InvalidParameter details: the request body was refused; nothing was created."""


class InvalidChangeError(ApiError):
    """422 InvalidChange: the job's state does not allow this change."""


class RateLimitedError(ApiError):
    """429 after the client's bounded waiting ran out."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx after the client's bounded retries ran out."""


class TransportError(ApiError):
    """No usable HTTP answer came back."""


class NotSentError(TransportError):
    """The request never reached the server (connection refused, DNS); safe to send again."""


class OutcomeUnknownError(TransportError):
    """The request may have been processed but no answer came back; never re-send it blindly."""
