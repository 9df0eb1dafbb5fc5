"""Named, bounded retry rules for one API call; tenacity runs the loop."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import tenacity

from rmapply.client.events import EventSink, RateLimitWait, RetryScheduled
from rmapply.client.failures import SendFailedError
from rmapply.client.throttle import Throttle
from rmapply.errors import (
    ApiError,
    NotSentError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
)

T = TypeVar("T")


class RetryRule(StrEnum):
    """Why a call is sent again (docs/client.md lists when each rule applies)."""

    RATE_LIMITED = "rate-limited"  # 429: not processed; every method, after Retry-After
    NOT_SENT = "not-sent"  # connect failure, DNS, refused: every method, backoff + jitter
    SERVER_ERROR = "server-error"  # 5xx: idempotent calls only
    NO_ANSWER = "no-answer"  # read timeout, connection dropped: idempotent calls only


@dataclass(frozen=True)
class RetryPolicy:
    """The bounds of every retry rule; the defaults suit the real service."""

    attempts: int = 4  # sends per call for not-sent / server-error / no-answer, first included
    backoff_initial: float = 0.5  # seconds before the 2nd send; doubles each time
    backoff_max: float = 8.0  # cap of one backoff wait
    rate_limit_max_wait: float = 60.0  # longest Retry-After honoured; a longer one gives up
    rate_limit_budget: float = 300.0  # total seconds one call may wait on 429s
    rate_limit_retries: int = 20  # 429s one call may see before giving up
    rate_limit_default_wait: float = 5.0  # when a 429 carries no readable Retry-After
    verify_attempts: int = 3  # submit/cancel sends, each after a GET showed it did not happen

    @classmethod
    def none(cls) -> RetryPolicy:
        """Send once; a 429 or any failure surfaces at once."""
        return cls(attempts=1, rate_limit_retries=0, verify_attempts=1)

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
    ) -> None:
        self.policy = policy
        self.method = method
        self.path = path
        self.idempotent = idempotent
        self.throttle = throttle
        self.on_event = on_event
        self.sends = 0
        self.failures = 0  # failures under the not-sent / server-error / no-answer rules
        self.ambiguous_failures = 0  # failures after which the request may have been processed
        self.rate_limited = 0
        self.rate_limit_waited = 0.0
        self._give_up = False
        self._pause = 0.0

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
            self.rate_limited += 1
            asked = exc.retry_after
            seconds = self.policy.rate_limit_default_wait if asked is None else asked
            # Every thread holds back, even when this call gives up.
            self._pause = self.throttle.pause(min(seconds, self.policy.rate_limit_max_wait))
            if (
                seconds > self.policy.rate_limit_max_wait
                or self.rate_limit_waited + seconds > self.policy.rate_limit_budget
                or self.rate_limited > self.policy.rate_limit_retries
            ):
                self._give_up = True
            self.rate_limit_waited += seconds
            return 0.0
        self.failures += 1
        if self.failures >= self.policy.attempts:
            self._give_up = True
            return 0.0
        return self.policy.backoff(self.failures)

    def stop(self, state: tenacity.RetryCallState) -> bool:
        """tenacity ``stop``: a bound was reached."""
        return self._give_up

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        """tenacity ``before_sleep``: report the wait to the caller."""
        exc = state.outcome.exception() if state.outcome else None
        if exc is None:
            return
        if isinstance(exc, RateLimitedError):
            self.on_event(RateLimitWait(round(self._pause, 3), self.method, self.path))
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
    retrying = tenacity.Retrying(
        retry=retries.retry,
        wait=retries.wait,
        stop=retries.stop,
        before_sleep=retries.before_sleep,
        sleep=sleep,
        reraise=True,
    )

    def counted(r: CallRetries) -> T:
        r.sends += 1
        return send(r)

    try:
        return retrying(counted, retries)
    except ApiError as exc:
        if retries.sends > 1:
            # Say how hard we tried, so nobody re-runs in a loop hoping for a different result.
            exc.message += f" (after {retries.sends} attempts)"
        raise
