"""One pacer per client: a token bucket shared by every thread, its rate found by AIMD.

Until the first 429 nothing is paced (a service that never limits costs nothing). A 429 starts a
pause for every thread of the client, at least as long as the answer's ``Retry-After``, and
halves the rate; each good answer then raises it a little (additively, by a fixed amount per
second of good answers). After a pause the threads are let out one token at a time at the new
rate, never all at once. Concurrent 429s of requests sent before the pause began belong to that
pause: they make it no shorter and do not halve the rate again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

# The pacing rules (docs/client.md, "Rate limits"). A rate is in requests per second.
MIN_RATE = 0.1  # never slower than one request per 10 s (Retry-After still sets pauses)
MAX_RATE = 1000.0  # a rate that climbs back here stops pacing altogether
INCREASE = 0.02  # per second of good answers, the rate gains 2% of the rate the last 429 halved
BURST_SECONDS = 1.0  # the bucket holds at most a second's worth of tokens (at least one)
# a 429 between 1 and 10 s after the previous one caps the rate at what the service admitted
# in between (sooner, too few answers to tell; later, the measure says more about demand)
MEASURE_MIN = 1.0
MEASURE_WINDOW = 10.0
SEND_WINDOW = 1.0  # before any 429: the send rate is measured over windows of at least 1 s,
CHECK_EVERY = 32  # closed (the clock read) every 32 sends


# a named tuple: built at import for a third of a dataclass's cost
class Pause(NamedTuple):
    """A new pause of every thread: ``seconds`` from now, then ``rate`` requests per second."""

    seconds: float
    rate: float


class Throttle:
    """A client-wide token bucket whose rate rises additively and halves on each 429 (AIMD)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        min_rate: float = MIN_RATE,
        max_rate: float = MAX_RATE,
        increase: float = INCREASE,
        burst_seconds: float = BURST_SECONDS,
    ) -> None:
        if not 0 < min_rate <= max_rate:
            raise ValueError(f"need 0 < min_rate <= max_rate, not {min_rate} and {max_rate}")
        self._clock = clock
        self._sleep = sleep
        self.min_rate = min_rate
        self.max_rate = max_rate
        self._increase = increase
        self._burst_seconds = burst_seconds
        self._lock = threading.Lock()
        now = clock()
        self._paced = False
        self._rate = max_rate
        self._step = increase * max_rate  # requests/s gained per second of good answers
        self._tokens = 1.0
        self._updated_at = now  # tokens are counted up to here; in the future while paused
        self._resume_at = now
        self._epoch = 0  # the number of pauses so far; a request carries the epoch it was sent in
        self._generation = 0  # bumped by every pause or extension: reservations made before it
        self._last_good = now
        self._last_sent = -math.inf  # the latest slot a paced send went out in
        self._pause_started = now  # start of the latest pause
        self._admitted = 0  # good answers since the latest pause started
        self._window_start = now
        self._window_sends = 0
        self._send_rate = 0.0  # sends per second of the last full window (before pacing)

    # -- what a caller sees -----------------------------------------------------------------

    def now(self) -> float:
        """The throttle's clock (monotonic seconds)."""
        return self._clock()

    @property
    def paced(self) -> bool:
        """True once a 429 has set a rate (until the rate climbs back to ``max_rate``)."""
        return self._paced

    @property
    def rate(self) -> float:
        """The current rate in requests per second (``max_rate`` while not paced)."""
        return self._rate

    @property
    def capacity(self) -> float:
        """How many tokens the bucket holds at most."""
        return max(1.0, self._rate * self._burst_seconds)

    def tokens(self) -> float:
        """Tokens available now (negative: requests already queued for a slot)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    def remaining(self) -> float:
        """Seconds until the current pause is over (0 when not paused)."""
        with self._lock:
            return max(0.0, self._resume_at - self._clock())

    # -- the three events: a send, a good answer, a 429 -------------------------------------

    def acquire(self) -> int:
        """Block until this thread may send (paced, after any pause); the epoch to send in."""
        # Fast path without the lock while nothing is paced: the epoch is read before the flag,
        # and a 429 sets the flag before the epoch, so a send that sees no pacing carries the
        # epoch from before any pause that began meanwhile (it counts as one of that burst).
        epoch = self._epoch
        if not self._paced:
            self._count_send()
            return epoch
        while True:
            with self._lock:
                now = self._clock()
                if not self._paced:
                    return self._epoch
                self._refill(now)
                self._tokens -= 1.0
                slot = self._updated_at + max(0.0, -self._tokens) / self._rate
                generation, epoch = self._generation, self._epoch
                if slot <= now:
                    self._last_sent = max(self._last_sent, now)
                    return epoch
            self._sleep(slot - now)
            with self._lock:
                if self._generation == generation:
                    self._last_sent = max(self._last_sent, slot)
                    return epoch
            # a pause began while this thread waited for its slot: queue again behind it

    def answered(self) -> None:
        """A good answer (anything but a 429): the service is keeping up, so speed up a little."""
        if not self._paced:
            return  # nothing to raise; what was admitted counts only between pauses
        with self._lock:
            now = self._clock()
            self._admitted += 1
            if not self._paced:
                return
            # idle time proves nothing: count at most two intervals of the current pace
            elapsed = min(max(0.0, now - self._last_good), 2.0 / self._rate)
            self._last_good = now
            self._set_rate(self._rate + self._step * elapsed, now)
            if self._rate >= self.max_rate:
                self._paced = False

    def rate_limited(self, epoch: int, retry_after: float) -> Pause | None:
        """A 429 to a request sent in ``epoch``: the new pause, or None when it joins the current.

        Every thread waits at least ``retry_after`` seconds from now either way.
        """
        with self._lock:
            now = self._clock()
            seconds = max(0.0, retry_after)
            if epoch != self._epoch:
                # sent before the current pause began: part of the same burst of 429s
                if now + seconds > self._resume_at:
                    self._hold(now + seconds)
                return None
            rate = self._decreased_rate(now)
            self._paced = True  # before the epoch: see acquire()
            self._epoch += 1
            self._step = self._increase * 2.0 * rate  # twice the new rate: the level it fell from
            self._set_rate(rate, now)
            self._pause_started = now
            self._admitted = 0
            pause = max(seconds, self._resume_at - now)
            self._hold(now + pause)
            return Pause(pause, self._rate)

    # -- internals (called with the lock held) ----------------------------------------------

    def _decreased_rate(self, now: float) -> float:
        """Half the current rate (before any pacing: half the measured send rate), capped by what
        the service admitted since the previous pause when that was recent."""
        rate = (self._rate if self._paced else self._measured_send_rate(now)) / 2.0
        since = now - self._pause_started
        if self._epoch > 0 and MEASURE_MIN <= since <= MEASURE_WINDOW:
            # counting this request as admitted too: a 429 to the first request after a pause
            # says the pause was short, not that the service admits nothing
            rate = min(rate, (self._admitted + 1) / since)
        return min(self.max_rate, max(self.min_rate, rate))

    def _measured_send_rate(self, now: float) -> float:
        elapsed = now - self._window_start
        current = self._window_sends / elapsed if elapsed > 0 else 0.0
        return max(current, self._send_rate)

    def _count_send(self) -> None:
        # unlocked (the fast path): a race loses a count or a window, which only blurs a measure;
        # the clock is read once every CHECK_EVERY sends, so counting costs next to nothing
        self._window_sends += 1
        if self._window_sends % CHECK_EVERY:
            return
        now = self._clock()
        elapsed = now - self._window_start
        if elapsed >= SEND_WINDOW:
            self._send_rate = self._window_sends / elapsed
            self._window_start = now
            self._window_sends = 0

    def _set_rate(self, rate: float, now: float) -> None:
        self._refill(now)
        self._rate = min(self.max_rate, max(self.min_rate, rate))
        self._tokens = min(self._tokens, self.capacity)

    def _refill(self, now: float) -> None:
        if now > self._updated_at:
            gained = (now - self._updated_at) * self._rate
            self._tokens = min(self.capacity, self._tokens + gained)
            self._updated_at = now

    def _hold(self, until: float) -> None:
        """Nobody sends before ``until``, nor sooner than one interval after the latest send;
        then the rest at the paced rate."""
        self._resume_at = until
        self._updated_at = until
        # a pause lengthened just after a send must not let the next one out right behind it
        self._tokens = min(1.0, max(0.0, (until - self._last_sent) * self._rate))
        self._generation += 1
