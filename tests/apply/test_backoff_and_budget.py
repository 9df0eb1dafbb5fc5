"""The poll schedule and the budget gate, with plain values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmapply.apply.backoff import PollCursor, PollSchedule, poll_scale
from rmapply.apply.budget import PricedSubmit, check_budget
from rmapply.errors import ConfigError


def test_poll_schedule_backs_off_15_30_60_120_and_stays_at_120() -> None:
    cursor = PollCursor(PollSchedule())
    delays = [cursor.after_poll(10.0) for _ in range(6)]
    assert delays == [15.0, 30.0, 60.0, 120.0, 120.0, 120.0]


def test_poll_schedule_restarts_when_the_percentage_moves() -> None:
    cursor = PollCursor(PollSchedule())
    assert [cursor.after_poll(p) for p in (0, 0, 0, 5, 5, 9)] == [15, 30, 60, 15, 30, 15]


def test_poll_schedule_scales_every_interval() -> None:
    cursor = PollCursor(PollSchedule(scale=0.01))
    assert [cursor.after_poll(1) for _ in range(4)] == pytest.approx([0.15, 0.3, 0.6, 1.2])


@given(st.lists(st.one_of(st.none(), st.integers(0, 100)), max_size=30))
def test_poll_delays_are_always_one_of_the_api_intervals(percentages) -> None:
    cursor = PollCursor(PollSchedule())
    for p in percentages:
        assert cursor.after_poll(p) in (15.0, 30.0, 60.0, 120.0)


def test_poll_scale_comes_from_option_then_env_then_emulator_speed(monkeypatch) -> None:
    monkeypatch.delenv("RMAPPLY_POLL_SCALE", raising=False)
    assert poll_scale(None) == 1.0
    assert poll_scale(None, emulator_speed=100.0) == 0.01
    monkeypatch.setenv("RMAPPLY_POLL_SCALE", "0.5")
    assert poll_scale(None, emulator_speed=100.0) == 0.5
    assert poll_scale(0.2) == 0.2


def test_poll_scale_refuses_junk_with_a_hint(monkeypatch) -> None:
    monkeypatch.setenv("RMAPPLY_POLL_SCALE", "fast")
    with pytest.raises(ConfigError) as info:
        poll_scale(None)
    assert info.value.message == "RMAPPLY_POLL_SCALE='fast' is not a number"
    with pytest.raises(ConfigError, match="--poll-scale must be positive, not 0"):
        poll_scale(0.0)


def test_budget_allows_submits_that_fit_exactly() -> None:
    decision = check_budget([PricedSubmit("jobs.a", 1.5), PricedSubmit("jobs.b", 2.5)], 4.0)
    assert decision.allowed
    assert decision.total == 4.0
    assert decision.message == ""


def test_budget_holds_every_submit_when_the_sum_is_over() -> None:
    decision = check_budget([PricedSubmit("jobs.a", 3.0), PricedSubmit("jobs.b", 2.0)], 4.0)
    assert not decision.allowed
    assert decision.held == ("jobs.a", "jobs.b")
    assert decision.message == (
        "submitting 2 job(s) would cost 5 by the service's estimates, over the budget of 4; "
        "left unsubmitted: jobs.a, jobs.b"
    )


def test_budget_does_not_count_submits_the_service_did_not_price_but_names_them() -> None:
    decision = check_budget([PricedSubmit("jobs.a", 1.0), PricedSubmit("jobs.b", None)], 1.0)
    assert decision.allowed
    assert decision.unpriced == ("jobs.b",)
    over = check_budget([PricedSubmit("jobs.a", 2.0), PricedSubmit("jobs.b", None)], 1.0)
    assert not over.allowed
    assert over.message.endswith(
        "left unsubmitted: jobs.a, jobs.b (1 job(s) without costEstimationParameters are not "
        "counted: jobs.b)"
    )


def test_without_a_budget_everything_may_be_submitted() -> None:
    assert check_budget([PricedSubmit("jobs.a", None)], None).allowed
    assert check_budget([], 0.0).allowed
