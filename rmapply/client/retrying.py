"""Named, bounded retry rules for one API call; tenacity runs the loop."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from rmapply.client.events import EventSink, RateLimitWait, RetryScheduled
from rmapply.client.failures import SendFailedError
from rmapply.client.throttle import Throttle

if TYPE_CHECKING:
    import tenacity

from rmapply.errors import (
    ApiError,
    NotSentError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
)

T = TypeVar("T")

DEFAULT_RETRY_BUDGET = 900.0  # 15 minutes
RETRY_BUDGET_HINT = (
    "a 429 is refused before it is processed, so this request changed nothing; wait a few "
    "minutes and run the command again, or allow a longer wait with --retry-budget SECONDS "
    "(or [api] retryBudget in rmapply.toml)"
)


class RetryRule(StrEnum):
    """Why a call is sent again (docs/client.md lists when each rule applies)."""

    RATE_LIMITED = "rate-limited"  # 429: not processed; every method, after Retry-After
    NOT_SENT = "not-sent"  # connect failure, DNS, refused: every method, backoff + jitter
    SERVER_ERROR = "server-error"  # 5xx: idempotent calls only
    NO_ANSWER = "no-answer"  # read timeout, connection dropped: idempotent calls only


# a named tuple: built at import for a third of a dataclass's cost
class RetryPolicy(NamedTuple):
    """The bounds of every retry rule; the defaults suit the real service."""

    attempts: int = 4  # sends per call for not-sent / server-error / no-answer, first included
    backoff_initial: float = 0.5  # seconds before the 2nd send; doubles each time
    backoff_max: float = 8.0  # cap of one backoff wait
    retry_budget: float = DEFAULT_RETRY_BUDGET  # seconds one call may stay rate limited (429)
    rate_limit_default_wait: float = 5.0  # when a 429 carries no readable Retry-After
    verify_attempts: int = 3  # submit/cancel sends, each after a GET showed it did not happen

    @classmethod
    def none(cls) -> RetryPolicy:
        """Send once; a 429 or any failure surfaces at once."""
        return cls(attempts=1, retry_budget=0.0, verify_attempts=1)

    @classmethod
    def fast(cls) -> RetryPolicy:
        """Short waits for tests and the local emulator (same rules, same bounds)."""
        return cls(backoff_initial=0.01, backoff_max=0.05, rate_limit_default_wait=0.05)

    def backoff(self, failures: int, rng: random.Random | None = None) -> float:
        """Wait after the ``failures``-th failure: exponential, with equal jitter."""
        ceiling = min(self.backoff_max, self.backoff_initial * 2.0 ** (failures - 1))
        jitter: float = (rng or random).uniform(0, ceiling / 2)
        return ceiling / 2 + jitter


def rule_for(exc: BaseException, *, idempotent: bool) -> RetryRule | None:
    """The rule that allows sending again after ``exc``, or None."""
    if isinstance(exc, RateLimitedError):
        return RetryRule.RATE_LIMITED
    if isinstance(exc, SendFailedError):
        return RetryRule.NOT_SENT if exc.retryable else None
    if isinstance(exc, NotSentError):
        return RetryRule.NOT_SENT
    if not idempotent:
        # A POST (or a state change) that may have reached the server is never re-sent here.
        return None
    if isinstance(exc, ServerError):
        return RetryRule.SERVER_ERROR
    if isinstance(exc, OutcomeUnknownError):
        return RetryRule.NO_ANSWER
    return None


class CallRetries:
    """The retry bookkeeping of one call; its methods are tenacity's retry/wait/stop hooks."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        method: str,
        path: str,
        idempotent: bool,
        throttle: Throttle,
        on_event: EventSink,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.policy = policy
        self.method = method
        self.path = path
        self.idempotent = idempotent
        self.throttle = throttle
        self.on_event = on_event
        self._clock = clock or throttle.now
        self.sends = 0
        self.epoch = 0  # the throttle's epoch the latest send went out in
        self.failures = 0  # failures under the not-sent / server-error / no-answer rules
        self.ambiguous_failures = 0  # failures after which the request may have been processed
        self.rate_limited = 0  # 429s this call got
        self.limited_since: float | None = None  # clock of this call's first 429
        self.budget_spent: float | None = None  # seconds rate limited, once the budget gave up
        self._give_up = False

    def retry(self, state: tenacity.RetryCallState) -> bool:
        """tenacity ``retry``: does a rule allow sending again?"""
        exc = state.outcome.exception() if state.outcome else None
        if exc is None:
            return False
        if isinstance(exc, OutcomeUnknownError | ServerError):
            self.ambiguous_failures += 1
        return rule_for(exc, idempotent=self.idempotent) is not None

    def wait(self, state: tenacity.RetryCallState) -> float:
        """tenacity ``wait``: backoff for failures; 429s wait in the client-wide throttle."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError):
            self._rate_limited(exc)
            return 0.0  # the next send waits in throttle.acquire(), paced with every thread
        self.failures += 1
        if self.failures >= self.policy.attempts:
            self._give_up = True
            return 0.0
        return self.policy.backoff(self.failures)

    def _rate_limited(self, exc: RateLimitedError) -> None:
        self.rate_limited += 1
        now = self._clock()
        if self.limited_since is None:
            self.limited_since = now
        asked = exc.retry_after
        seconds = self.policy.rate_limit_default_wait if asked is None else asked
        # Every thread holds back, even when this call gives up; one report per pause.
        pause = self.throttle.rate_limited(self.epoch, seconds)
        if pause is not None:
            seconds_paused = round(pause.seconds, 3)
            rate = round(pause.rate, 3)
            self.on_event(RateLimitWait(seconds_paused, self.method, self.path, rate))
        limited = now - self.limited_since
        budget = self.policy.retry_budget
        if budget <= 0 or limited + max(seconds, self.throttle.remaining()) > budget:
            self._give_up = True
            self.budget_spent = limited

    def stop(self, state: tenacity.RetryCallState) -> bool:
        """tenacity ``stop``: a bound was reached."""
        return self._give_up

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        """tenacity ``before_sleep``: report a backoff wait to the caller (pauses report above)."""
        exc = state.outcome.exception() if state.outcome else None
        if exc is None or isinstance(exc, RateLimitedError):
            return
        rule = rule_for(exc, idempotent=self.idempotent)
        self.on_event(
            RetryScheduled(
                seconds=round(state.upcoming_sleep, 3),
                method=self.method,
                path=self.path,
                attempt=state.attempt_number + 1,
                reason=str(rule),
            )
        )


def run_with_retries(
    send: Callable[[CallRetries], T],
    retries: CallRetries,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``send`` until it returns, or raise its last error once no rule allows another try."""

    def counted(r: CallRetries) -> T:
        r.sends += 1
        return send(r)

    try:
        return _first_then_retried(counted, retries, sleep)
    except RateLimitedError as exc:
        if retries.budget_spent is not None and retries.policy.retry_budget > 0:
            # Say what, how long and what next: a budget, not an attempt count, ended it.
            exc.message += (
                f" (rate limited for {duration(retries.budget_spent)} over {retries.sends} "
                f"attempts; waiting longer would pass the retry budget of "
                f"{duration(retries.policy.retry_budget)}: run again later, or allow a longer "
                "wait with --retry-budget)"
            )
            exc.hint = RETRY_BUDGET_HINT
        elif retries.sends > 1:
            exc.message += f" (after {retries.sends} attempts)"
        raise
    except ApiError as exc:
        if retries.sends > 1:
            # Say how hard we tried, so nobody re-runs in a loop hoping for a different result.
            exc.message += f" (after {retries.sends} attempts)"
        raise


def _first_then_retried(
    counted: Callable[[CallRetries], T], retries: CallRetries, sleep: Callable[[float], None]
) -> T:
    # The first try runs without tenacity: most calls succeed at once, and importing tenacity
    # (with concurrent.futures and asyncio parts) costs a no-op plan about 8 ms.
    try:
        return counted(retries)
    except BaseException as exc:  # tenacity's loop sees exactly what its own first try would
        first: list[BaseException] = [exc]
    import tenacity

    def attempt(r: CallRetries) -> T:
        if first:
            raise first.pop()  # the first try's outcome, already counted
        return counted(r)

    retrying = tenacity.Retrying(
        retry=retries.retry,
        wait=retries.wait,
        stop=retries.stop,
        before_sleep=retries.before_sleep,
        sleep=sleep,
        reraise=True,
    )
    return retrying(attempt, retries)


def duration(seconds: float) -> str:
    """``1.5 s``, ``4 min 12 s``, ``15 min``, ``1 h 5 min``: a wait as a person reads it."""
    if seconds < 10:
        return f"{max(0.0, seconds):.1f}".removesuffix(".0") + " s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
