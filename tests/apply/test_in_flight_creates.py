"""A create whose answer was lost may still land: it is never judged "not created" too early."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from rmapply.apply.recovery import Outcome, resolve_pending
from rmapply.apply.summary import ApplySummary, OutcomeStatus
from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken
from rmapply.emulator import Emulator
from rmapply.model import DesiredState
from rmapply.plan.planner import build_plan
from rmapply.state import LocalStateStore
from tests.apply.conftest import desired_state, job_spec, run_apply
from tests.apply.test_unknown_outcomes import _create, _lost_create

JOBS = "/contextcapture/jobs"


@pytest.fixture
def impatient(emulator: Emulator, token: str) -> Iterator[RealityModelingClient]:
    """A client that gives up on an answer after 0.3 s."""
    with RealityModelingClient(
        emulator.base_url, StaticToken(token), retry=RetryPolicy.fast(), timeout=(5, 0.3)
    ) as made:
        yield made


def _apply_again(
    desired: DesiredState, store: LocalStateStore, client: RealityModelingClient, now: datetime
) -> ApplySummary:
    """What ``rmapply apply`` does: settle lost requests, plan, execute."""
    with store.lock("apply") as session:
        resolve_pending(session, client, now)
    return run_apply(desired, store, client)


def _wait_for_jobs(emulator: Emulator, count: int) -> None:
    """Until the emulator has processed the held request (it holds it for a few seconds)."""
    deadline = time.monotonic() + 30
    while len(emulator.jobs()) < count:
        assert time.monotonic() < deadline, "the held create never landed"
        time.sleep(0.05)


def test_a_create_not_found_while_still_in_flight_stays_pending_and_is_adopted_once_it_lands(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    workspace_id = _lost_create(store, client, itwin_id, "Site A")
    sent = store.load().pending["jobs.a"].sent_at
    with store.lock("apply") as session:
        (early,) = resolve_pending(session, client, sent + timedelta(seconds=2))
    assert early.outcome is Outcome.UNRESOLVED
    assert "may still be in flight until" in early.message
    assert early.commands == ("rmapply apply",)
    assert set(store.load().pending) == {"jobs.a"}
    job_id = _create(client, "Site A", workspace_id)  # the request lands late
    with store.lock("apply") as session:
        (late,) = resolve_pending(session, client, sent + timedelta(seconds=5))
    assert (late.outcome, late.remote_id) == (Outcome.ADOPTED, job_id)


def test_a_read_timeout_on_a_slow_create_leaves_it_pending_and_no_second_job_is_made(
    emulator: Emulator, impatient: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("A")})
    emulator.delay_next(1, 5.0, "POST", JOBS)  # answered after the client gave up
    first = run_apply(desired, store, impatient)
    (unknown,) = first.with_status(OutcomeStatus.UNKNOWN)
    assert (unknown.address, unknown.action, unknown.commands) == (
        "jobs.a",
        "create",
        ("rmapply apply",),
    )
    assert set(store.load().pending) == {"jobs.a"}
    # run again at once: nothing is created while the first request may still land (it is
    # adopted instead if it landed already, on a slow machine)
    _apply_again(desired, store, impatient, datetime.now(UTC))
    assert emulator.request_count("POST", JOBS) == 1
    _wait_for_jobs(emulator, 1)
    settled = _apply_again(desired, store, impatient, datetime.now(UTC))
    assert settled.ok, settled.error()
    (job,) = emulator.jobs()
    assert store.load().resources["jobs.a"].remote_id == job.id
    assert emulator.request_count("POST", JOBS) == 1


def test_a_timeout_answer_to_a_create_is_an_unknown_outcome_not_a_refusal(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("A"), "b": job_spec("B")})
    emulator.fail_next(2, 408, "POST", JOBS)
    summary = run_apply(desired, store, client, parallelism=1)
    unknown = summary.with_status(OutcomeStatus.UNKNOWN)
    assert sorted(o.address for o in unknown) == ["jobs.a", "jobs.b"]
    assert set(store.load().pending) == {"jobs.a", "jobs.b"}
    assert emulator.request_count("POST", JOBS) == 2  # not re-sent


def test_the_services_date_header_can_end_the_window_of_a_create_that_never_landed(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("A")})
    emulator.fail_next(1, 503, "POST", JOBS)  # refused unprocessed, but a POST cannot know
    run_apply(desired, store, client)
    pending = store.load().pending["jobs.a"]
    assert "serviceClockOffset" in pending.details
    assert pending.details["readTimeout"] == 10.0
    # our clock says a second passed; the service's says ten minutes
    emulator.advance(600)
    with store.lock("apply") as session:
        (resolution,) = resolve_pending(session, client, pending.sent_at + timedelta(seconds=1))
    assert resolution.outcome is Outcome.NOT_DONE
    assert run_apply(desired, store, client).ok
    assert [j.name for j in emulator.jobs()] == ["A"]


def test_a_plan_made_without_the_service_shows_a_young_lost_create_as_in_flight(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    _lost_create(store, client, itwin_id, "Site A")
    state = store.load()
    plan = build_plan(desired_state(itwin_id, {"a": job_spec("Site A")}), state, None,
                      now=state.pending["jobs.a"].sent_at + timedelta(seconds=1))  # fmt: skip
    (shown,) = plan.unresolved
    assert "may still be in flight" in shown.message
    assert shown.commands == ("rmapply apply",)
    assert [str(a.address) for a in plan.to_apply if str(a.address) == "jobs.a"] == []
