"""The service's own clock, as its ``Date`` headers tell it (used to judge lost requests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

# ``Date`` has whole seconds: the service's clock may be up to this much later than it says
DATE_RESOLUTION = timedelta(seconds=1)


class ServiceClock:
    """The latest ``Date`` header of any answer, and our own clock when it arrived.

    Thread-safe; every answer updates it, so it costs one assignment per call (the header is
    parsed only when asked).
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._latest: tuple[str, float] | None = None

    def observe(self, date_header: str | None) -> None:
        """Note the ``Date`` header of an answer that just arrived (None: it had none)."""
        if date_header:
            with self._lock:
                self._latest = (date_header, self._wall())

    def now(self) -> datetime | None:
        """The service's time in its latest answer (None before any answer with ``Date``)."""
        reading = self._reading()
        return reading[0] if reading else None

    def offset(self) -> timedelta | None:
        """How far the service's clock is ahead of ours (negative: behind), or None.

        ``Date`` drops the fraction of a second, so the offset is rounded up by one second: a
        later judgement that uses it errs towards waiting longer.
        """
        reading = self._reading()
        if reading is None:
            return None
        service, received = reading
        return service + DATE_RESOLUTION - received

    def _reading(self) -> tuple[datetime, datetime] | None:
        with self._lock:
            latest = self._latest
        if latest is None:
            return None
        header, received = latest
        try:
            service = _parsedate(header)
        except (TypeError, ValueError):
            return None
        if service.tzinfo is None:
            service = service.replace(tzinfo=UTC)
        return service.astimezone(UTC), datetime.fromtimestamp(received, UTC)


def _parsedate(value: str) -> datetime:
    import email.utils  # here: a no-op plan reads no date header (email costs about 3 ms)

    return email.utils.parsedate_to_datetime(value)
