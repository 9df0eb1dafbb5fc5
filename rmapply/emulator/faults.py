"""Injected faults: latency, rate limit, random 503s and dropped answers, plus exact switches.

Random faults draw from one seeded generator, so a run with the same seed and the same sequence
of requests sees the same faults. The exact switches ("the next N ...") are for tests.
"""

from __future__ import annotations

import math
import random
import threading

from rmapply.emulator.lifecycle import SimClock
from rmapply.emulator.options import EmulatorOptions

API_PREFIX = "/contextcapture"


# _Switch and _Bucket are plain classes: a dataclass costs more to build at import than a
# --local command spends on faults (it has none)
class _Switch:
    """Act on the next ``remaining`` requests matching a method and path prefix."""

    __slots__ = ("method", "path_prefix", "remaining", "value")

    def __init__(
        self, remaining: int, method: str | None, path_prefix: str, value: int = 0
    ) -> None:
        self.remaining = remaining
        self.method = method
        self.path_prefix = path_prefix
        self.value = value

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and path.startswith(
            self.path_prefix
        )


class _Bucket:
    """A token bucket of the rate limit: tokens left, and when it was last filled."""

    __slots__ = ("at_ms", "tokens")

    def __init__(self, tokens: float, at_ms: int) -> None:
        self.tokens = tokens
        self.at_ms = at_ms


class Faults:
    """The fault settings of one emulator, changeable while it runs."""

    def __init__(self, options: EmulatorOptions, clock: SimClock) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._rng = random.Random(options.seed)
        self.latency_ms = float(options.latency_ms)
        self.jitter_ms = float(options.jitter_ms)
        self.post_latency_ms = float(options.post_latency_ms)
        self.post_jitter_ms = float(options.post_jitter_ms)
        self.rate_limit = options.rate_limit
        self.rate_limit_burst = options.rate_limit_burst
        self.rate_limited = 0  # requests answered 429 (rate limit or throttle switch)
        self.fail_rate = options.fail_rate
        self.drop_rate = options.drop_rate
        self._drops: list[_Switch] = []
        self._throttles: list[_Switch] = []
        self._failures: list[_Switch] = []
        self._delays: list[_Switch] = []
        self._blank_outputs: list[_Switch] = []
        self._buckets: dict[str, _Bucket] = {}

    def set(
        self,
        *,
        latency_ms: float | None = None,
        jitter_ms: float | None = None,
        post_latency_ms: float | None = None,
        post_jitter_ms: float | None = None,
        rate_limit: int | bool | None = False,
        rate_limit_burst: int | bool | None = False,
        fail_rate: float | None = None,
        drop_rate: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Change some settings; ``rate_limit=None`` switches the limit off (False keeps it);
        ``rate_limit_burst=None`` makes the bucket hold a minute's worth again."""
        with self._lock:
            if latency_ms is not None:
                self.latency_ms = float(latency_ms)
            if jitter_ms is not None:
                self.jitter_ms = float(jitter_ms)
            if post_latency_ms is not None:
                self.post_latency_ms = float(post_latency_ms)
            if post_jitter_ms is not None:
                self.post_jitter_ms = float(post_jitter_ms)
            if rate_limit is not False:
                self.rate_limit = None if rate_limit is None else int(rate_limit)
                self._buckets.clear()
            if rate_limit_burst is not False:
                self.rate_limit_burst = None if rate_limit_burst is None else int(rate_limit_burst)
                self._buckets.clear()
            if fail_rate is not None:
                self.fail_rate = _fraction("fail_rate", fail_rate)
            if drop_rate is not None:
                self.drop_rate = _fraction("drop_rate", drop_rate)
            if seed is not None:
                self._rng.seed(seed)

    def drop_next(self, n: int, method: str | None, path_prefix: str) -> None:
        """Process the next ``n`` matching requests, then close the connection unanswered."""
        with self._lock:
            self._drops.append(_Switch(n, method, path_prefix))

    def throttle_next(self, n: int, retry_after: int, method: str | None, path_prefix: str) -> None:
        """Answer the next ``n`` matching requests with 429 and ``Retry-After: retry_after``."""
        with self._lock:
            self._throttles.append(_Switch(n, method, path_prefix, retry_after))

    def fail_next(self, n: int, status: int, method: str | None, path_prefix: str) -> None:
        """Answer the next ``n`` matching requests with ``status`` before processing them."""
        with self._lock:
            self._failures.append(_Switch(n, method, path_prefix, status))

    def delay_next(self, n: int, milliseconds: int, method: str | None, path_prefix: str) -> None:
        """Hold the next ``n`` matching requests ``milliseconds`` longer before processing them."""
        with self._lock:
            self._delays.append(_Switch(n, method, path_prefix, int(milliseconds)))

    def blank_outputs_next(self, n: int) -> None:
        """Answer the next ``n`` job creates without their output ids (the job keeps them)."""
        with self._lock:
            self._blank_outputs.append(_Switch(n, "POST", f"{API_PREFIX}/jobs"))

    def take_blank_outputs(self, method: str, path: str) -> bool:
        """True when a blank-outputs switch claims this job create's answer."""
        with self._lock:
            return _take(self._blank_outputs, method, path) is not None

    def clear(self) -> None:
        """Forget every pending exact switch."""
        with self._lock:
            self._blank_outputs.clear()
            self._delays.clear()
            self._drops.clear()
            self._throttles.clear()
            self._failures.clear()

    def delay_seconds(self) -> float:
        """How long to wait before handling a request."""
        with self._lock:
            if self.latency_ms <= 0 and self.jitter_ms <= 0:
                return 0.0
            jitter = self._rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
            return max(0.0, self.latency_ms + jitter) / 1000

    def take_delay(self, method: str, path: str) -> float:
        """Extra seconds to hold this request, if an exact delay switch claims it."""
        with self._lock:
            extra = _take(self._delays, method, path)
        return (extra or 0) / 1000

    def post_delay_seconds(self, method: str) -> float:
        """How much longer to wait before handling a POST (a create takes its time)."""
        if method != "POST":
            return 0.0
        with self._lock:
            if self.post_latency_ms <= 0 and self.post_jitter_ms <= 0:
                return 0.0
            spread = self.post_jitter_ms
            jitter = self._rng.uniform(-spread, spread) if spread else 0.0
            return max(0.0, self.post_latency_ms + jitter) / 1000

    def take_throttle(self, method: str, path: str) -> int | None:
        """Retry-After seconds if an exact throttle switch claims this request."""
        with self._lock:
            retry_after = _take(self._throttles, method, path)
            if retry_after is not None:
                self.rate_limited += 1
            return retry_after

    def take_failure(self, method: str, path: str) -> int | None:
        """An HTTP status if an exact failure switch claims this request."""
        with self._lock:
            return _take(self._failures, method, path)

    def random_failure(self, path: str) -> bool:
        """True when this API request is one of the ``fail_rate`` fraction of 503s."""
        with self._lock:
            return (
                path.startswith(API_PREFIX)
                and self.fail_rate > 0
                and (self._rng.random() < self.fail_rate)
            )

    def take_drop(self, method: str, path: str) -> bool:
        """True when this request's answer is to be dropped (exact switch or ``drop_rate``)."""
        with self._lock:
            if _take(self._drops, method, path) is not None:
                return True
            return (
                path.startswith(API_PREFIX)
                and self.drop_rate > 0
                and (self._rng.random() < self.drop_rate)
            )

    def rate_check(self, key: str) -> int | None:
        """None if ``key`` may send a request now, else the Retry-After in whole seconds.

        One token bucket per key: it holds ``rate_limit_burst`` requests (default ``rate_limit``,
        a minute's worth) and refills ``rate_limit`` per minute, evenly: ``--rate-limit 120``
        holds 120 requests and refills 2 per second.
        """
        with self._lock:
            limit = self.rate_limit
            if limit is None:
                return None
            capacity = float(self.rate_limit_burst or limit)
            now = self._clock.platform_now_ms()
            per_ms = limit / 60_000
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(capacity, now)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.at_ms) * per_ms)
            bucket.at_ms = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            self.rate_limited += 1
            return max(1, math.ceil((1.0 - bucket.tokens) / per_ms / 1000))


def _take(switches: list[_Switch], method: str, path: str) -> int | None:
    for switch in switches:
        if switch.remaining > 0 and switch.matches(method, path):
            switch.remaining -= 1
            if switch.remaining == 0:
                switches.remove(switch)
            return switch.value
    return None


def _fraction(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} {value} is not between 0 and 1")
    return float(value)
