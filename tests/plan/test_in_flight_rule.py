"""The pure rule: when a create whose answer was lost may be judged "not created"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rmapply.plan.pending import in_flight_until, may_still_land, unresolved
from rmapply.state import PendingOperation

SENT = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def _create(**details: object) -> PendingOperation:
    return PendingOperation(
        address="jobs.a",
        action="create",
        request_digest="sha256:x",
        sent_at=SENT,
        details={"kind": "job", "name": "A", **details},
    )


def test_a_lost_create_may_still_land_until_its_read_timeout_plus_the_margin_passed() -> None:
    operation = _create(readTimeout=1.0)
    assert in_flight_until(operation, margin=30) == SENT + timedelta(seconds=31)
    assert may_still_land(operation, SENT + timedelta(seconds=3), margin=30)
    assert may_still_land(operation, SENT + timedelta(seconds=30.9), margin=30)
    assert not may_still_land(operation, SENT + timedelta(seconds=31), margin=30)


def test_an_intent_without_a_read_timeout_counts_the_clients_default_of_60_seconds() -> None:
    operation = _create()
    assert in_flight_until(operation, margin=60) == SENT + timedelta(minutes=2)


def test_the_services_clock_can_say_the_window_passed_when_ours_stands_still() -> None:
    # our clock was set back (or this is another machine): it still says 10 s after sending;
    # the service, whose clock ran 5 s ahead of ours when the intent was written, says 2 min
    operation = _create(readTimeout=60.0, serviceClockOffset=5.0)
    ours = SENT + timedelta(seconds=10)
    assert may_still_land(operation, ours, margin=60)
    late = SENT + timedelta(seconds=5 + 120)
    assert not may_still_land(operation, ours, margin=60, service_now=late)
    early = SENT + timedelta(seconds=5 + 119)
    assert may_still_land(operation, ours, margin=60, service_now=early)


def test_without_a_journalled_clock_offset_the_services_clock_is_not_compared() -> None:
    operation = _create(readTimeout=60.0)
    far_later = SENT + timedelta(hours=5)
    assert may_still_land(operation, SENT, margin=60, service_now=far_later)


def test_the_plan_shows_a_young_lost_create_as_in_flight_with_no_forget_command() -> None:
    operation = _create(readTimeout=60.0)
    shown = unresolved(operation, SENT + timedelta(seconds=5))
    assert "may still be in flight until 2026-05-01T12:02:00+00:00" in shown.message
    assert shown.commands == ("rmapply apply",)
    old = unresolved(operation, SENT + timedelta(minutes=5))
    assert old.commands == ("rmapply import jobs.a JOB_ID", "rmapply state forget-intent jobs.a")


@given(
    read=st.floats(min_value=0.1, max_value=600),
    margin=st.floats(min_value=0, max_value=600),
    offset=st.floats(min_value=-3600, max_value=3600),
    first=st.floats(min_value=-1000, max_value=2000),
    later=st.floats(min_value=0, max_value=2000),
)
def test_once_judged_over_a_request_never_counts_as_in_flight_again_at_a_later_time(
    read: float, margin: float, offset: float, first: float, later: float
) -> None:
    operation = _create(readTimeout=read, serviceClockOffset=offset)
    now = SENT + timedelta(seconds=first)
    service = now + timedelta(seconds=offset)
    if not may_still_land(operation, now, margin=margin, service_now=service):
        step = timedelta(seconds=later)
        assert not may_still_land(operation, now + step, margin=margin, service_now=service + step)
    # while neither clock has reached read timeout + margin, it is always in flight
    if now < in_flight_until(operation, margin):
        assert may_still_land(operation, now, margin=margin, service_now=service)
