"""The bridge from the client's own events (rate-limit pauses) to apply events.

Kept apart from rmapply.apply.events so that the renderers in rmapply.output, which read those
events, never import the client.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rmapply.apply.events import EventSink, RateLimitWait, discard
from rmapply.client import events as client_events


class ClientEventBridge:
    """Turns the client's rate-limit reports into apply events (the client is built before the
    apply's sink exists, so the sink can be attached later)."""

    def __init__(self, sink: EventSink = discard, now: Callable[[], datetime] | None = None):
        self.sink = sink
        self._now = now or _utcnow

    def __call__(self, event: object) -> None:
        """The client's ``on_event`` hook."""
        if isinstance(event, client_events.RateLimitWait):
            self.sink(
                RateLimitWait(
                    self._now(),
                    event.seconds,
                    f"429 on {event.method} {event.path}",
                    event.rate,
                )
            )


def _utcnow() -> datetime:
    return datetime.now(UTC)
