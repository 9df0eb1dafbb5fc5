"""One limiter per client: after a 429, every thread waits until Retry-After has passed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """A client-wide pause honouring Retry-After, so N workers do not hammer a limited service."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._resume_at = 0.0

    def pause(self, seconds: float) -> float:
        """Hold every thread for ``seconds`` from now (never shortens a longer pause); the pause."""
        with self._lock:
            now = self._clock()
            self._resume_at = max(self._resume_at, now + max(0.0, seconds))
            return self._resume_at - now

    def remaining(self) -> float:
        """Seconds until sending is allowed again (0 when not paused)."""
        with self._lock:
            return max(0.0, self._resume_at - self._clock())

    def wait(self) -> float:
        """Block until the pause (possibly extended meanwhile) is over; the seconds waited."""
        waited = 0.0
        # Fast path without the lock: a float read is atomic and a stale read only costs a loop.
        while self._resume_at > self._clock():
            left = self.remaining()
            if left <= 0:
                break
            self._sleep(left)
            waited += left
        return waited
