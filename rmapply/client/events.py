"""Events the client reports while it waits, so a caller can show a long wait to the user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimitWait:
    """A 429 began a pause: every thread of this client waits ``seconds``, then sends at ``rate``
    requests per second (one event per pause, however many threads got a 429 meanwhile)."""

    seconds: float
    method: str
    path: str
    rate: float | None = None


@dataclass(frozen=True)
class RetryScheduled:
    """A call failed in a way that is safe to retry; it is sent again after ``seconds``."""

    seconds: float
    method: str
    path: str
    attempt: int
    reason: str


@dataclass(frozen=True)
class TokenRefreshed:
    """The service refused the token (401); a new one was fetched and the call is sent again."""

    method: str
    path: str


@dataclass(frozen=True)
class OutcomeVerified:
    """A state change's answer was lost; a GET showed what the job's state is now."""

    method: str
    path: str
    state: str


ClientEvent = RateLimitWait | RetryScheduled | TokenRefreshed | OutcomeVerified
EventSink = Callable[[ClientEvent], None]


def ignore_event(event: ClientEvent) -> None:
    """The default sink: drop the event."""
