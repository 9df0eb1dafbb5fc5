"""The retry rules as values: which failure may be sent again, Retry-After, backoff bounds."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmapply.client import RetryPolicy, RetryRule
from rmapply.client.failures import SendFailedError
from rmapply.client.responses import retry_after_seconds
from rmapply.client.retrying import rule_for
from rmapply.errors import (
    AuthenticationError,
    InvalidChangeError,
    NotSentError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
)


@pytest.mark.parametrize(
    ("error", "idempotent", "rule"),
    [
        (RateLimitedError("x"), False, RetryRule.RATE_LIMITED),
        (RateLimitedError("x"), True, RetryRule.RATE_LIMITED),
        (NotSentError("x"), False, RetryRule.NOT_SENT),
        (SendFailedError("x", retryable=True), False, RetryRule.NOT_SENT),
        (SendFailedError("bad certificate", retryable=False), True, None),
        (ServerError("x"), True, RetryRule.SERVER_ERROR),
        (ServerError("x"), False, None),
        (OutcomeUnknownError("x"), True, RetryRule.NO_ANSWER),
        (OutcomeUnknownError("x"), False, None),
        (AuthenticationError("x"), True, None),
        (RequestRejectedError("x"), True, None),
        (InvalidChangeError("x"), True, None),
    ],
)
def test_only_named_rules_allow_sending_again(
    error: Exception, idempotent: bool, rule: RetryRule | None
) -> None:
    assert rule_for(error, idempotent=idempotent) == rule


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("1", 1.0), (" 30 ", 30.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), (None, None)],
)
def test_retry_after_reads_delta_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_retry_after_reads_an_http_date() -> None:
    now = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT
    assert retry_after_seconds("Sun, 06 Nov 1994 08:50:37 GMT", now=now) == 60.0


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_its_bounds(failures: int, seed: int) -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=8.0)
    wait = policy.backoff(failures, random.Random(seed))
    ceiling = min(8.0, 0.5 * 2 ** (failures - 1))
    assert ceiling / 2 <= wait <= ceiling


def test_policy_none_sends_once() -> None:
    policy = RetryPolicy.none()
    assert (policy.attempts, policy.retry_budget, policy.verify_attempts) == (1, 0.0, 1)
