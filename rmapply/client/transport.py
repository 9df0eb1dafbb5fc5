"""The transport seam: what the client needs from HTTP, and how a send may fail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple, Protocol
from urllib.parse import urlsplit

from rmapply import __version__
from rmapply.errors import ConfigError

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
USER_AGENT = f"rmapply/{__version__}"


# a named tuple: built at import for a third of a dataclass's cost
class Timeout(NamedTuple):
    """Connect and read timeouts in seconds; every request carries both."""

    connect: float = DEFAULT_TIMEOUT[0]
    read: float = DEFAULT_TIMEOUT[1]

    @classmethod
    def of(cls, value: Timeout | tuple[float, float] | float) -> Timeout:
        """A Timeout from a pair ``(connect_s, read_s)``, one number for both, or a Timeout."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, int | float):
            return cls(float(value), float(value))
        connect, read = value
        return cls(float(connect), float(read))


class HttpAnswer(NamedTuple):
    """What came back: status, reason phrase, headers (case-insensitive) and the whole body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


class HttpTransport(Protocol):
    """Sends one request and reads the whole answer; never retries, never redirects.

    A send that gets no answer raises one of the failures below, so the client's retry rules
    can tell a request that never left from one that may have been processed. Implementations
    are shared by every thread of a client, so ``send`` must be thread-safe.
    """

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: Timeout,
    ) -> HttpAnswer:
        """The answer to one request to the absolute ``url``, or a TransportFailure."""
        ...

    def close(self) -> None:
        """Release connections; later sends fail."""
        ...


class TransportFailure(Exception):  # noqa: N818 (a failure the client translates, not an error)
    """No answer came back; subclasses say whether the request may have reached the server."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class NeverSent(TransportFailure):
    """Nothing reached the server: connect failed (refused, DNS, timeout, proxy) or TLS did.

    ``what`` is the reason in a few words ("connection refused"); ``stage`` is where it failed.
    A TLS failure is not worth retrying: the same certificate will be refused again.
    """

    def __init__(self, what: str, *, stage: Literal["connect", "tls"] = "connect") -> None:
        super().__init__(what)
        self.stage = stage


class MaybeSent(TransportFailure):
    """The connection was open when it failed (reset, closed, answer cut off): maybe processed."""


class TimedOutAfterSending(MaybeSent):
    """The request was sent but no answer came within the read timeout."""

    def __init__(self, what: str = "no answer within the read timeout") -> None:
        super().__init__(what)


def endpoint_host(url: str) -> str:
    """The ``host[:port]`` of an http(s) URL, as messages name it (never its userinfo)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"endpoint {url!r} is not an http(s) URL",
            hint="use a URL such as https://api.bentley.com/contextcapture",
        )
    return parts.netloc.rpartition("@")[2]
