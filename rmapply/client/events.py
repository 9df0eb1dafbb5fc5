"""Events the client reports while it waits, so a caller can show a long wait to the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


# a named tuple: built at import for a third of a dataclass's cost
class RateLimitWait(NamedTuple):
    """A 429 began a pause: every thread of this client waits ``seconds``, then sends at ``rate``
    requests per second (one event per pause, however many threads got a 429 meanwhile)."""

    seconds: float
    method: str
    path: str
    rate: float | None = None


class RetryScheduled(NamedTuple):
    """A call failed in a way that is safe to retry; it is sent again after ``seconds``."""

    seconds: float
    method: str
    path: str
    attempt: int
    reason: str


class TokenRefreshed(NamedTuple):
    """The service refused the token (401); a new one was fetched and the call is sent again."""

    method: str
    path: str


class OutcomeVerified(NamedTuple):
    """A state change's answer was lost; a GET showed what the job's state is now."""

    method: str
    path: str
    state: str


ClientEvent = RateLimitWait | RetryScheduled | TokenRefreshed | OutcomeVerified
EventSink = Callable[[ClientEvent], None]


def ignore_event(event: ClientEvent) -> None:
    """The default sink: drop the event."""
