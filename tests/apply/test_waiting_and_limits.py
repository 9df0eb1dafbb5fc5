"""Waiting for jobs, status, re-attaching from state, Ctrl-C, and 429 storms, over HTTP."""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from rmapply.apply.client_bridge import ClientEventBridge
from rmapply.apply.events import (
    JobSettled,
    ProgressReported,
    RateLimitWait,
    WaitStopped,
)
from rmapply.apply.watch import collect_status, job_records, wait_from_store
from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.state import LocalStateStore
from tests.apply.conftest import FAST_POLLS, desired_state, job_spec, run_apply


def _now() -> datetime:
    return datetime.now(UTC)


class _ClockAfterProgress(list):  # type: ignore[type-arg]
    """Events; the frozen emulator's clock moves on only once a poll reported progress, so the
    test never depends on a loaded machine polling before a fast job ends."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def append(self, event: object) -> None:
        super().append(event)
        if isinstance(event, ProgressReported):
            self.emulator.advance(24 * 3600)  # far past any job's simulated duration


def test_apply_with_wait_polls_until_success_and_records_the_final_job(
    emulator_factory: Callable[..., Emulator],
    token: str,
    store: LocalStateStore,
    itwin_id: str,
) -> None:
    emulator = emulator_factory(EmulatorOptions(speed=0))
    events = _ClockAfterProgress(emulator)
    desired = desired_state(itwin_id, {"a": job_spec("A"), "b": job_spec("B")})
    with RealityModelingClient(emulator.base_url, StaticToken(token)) as client:
        summary = run_apply(desired, store, client, events=events, wait=True, wait_timeout=30)
    assert summary.ok, summary.error()
    assert summary.job_states == {"jobs.a": "success", "jobs.b": "success"}
    for address in ("jobs.a", "jobs.b"):
        remote = store.load().resources[address].remote
        assert remote is not None and remote["state"] == "success"
        assert remote["executionInformation"]["endedDateTime"]
    settled = sorted(e.address for e in events if isinstance(e, JobSettled))
    assert settled == ["jobs.a", "jobs.b"]
    assert any(isinstance(e, ProgressReported) for e in events)
    assert [j.state.value for j in emulator.jobs()] == ["success", "success"]


def test_a_failed_job_is_recorded_with_its_errors_and_fails_the_apply(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("A [fail]"), "b": job_spec("B")})
    summary = run_apply(desired, store, client, wait=True, wait_timeout=30)
    assert summary.job_states == {"jobs.a": "failed", "jobs.b": "success"}
    error = summary.error()
    assert error is not None
    assert "jobs.a: job failed" in error.message
    remote = store.load().resources["jobs.a"].remote
    assert remote is not None and remote["executionInformation"]["errors"]


def test_wait_re_attaches_from_the_state_alone_in_a_later_session(
    emulator_factory, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0)
    with RealityModelingClient(slow.base_url, StaticToken(token), retry=RetryPolicy.fast()) as c:
        desired = desired_state(itwin_id, {"a": job_spec("A"), "b": job_spec("B", submit=False)})
        assert run_apply(desired, store, c).ok
        slow.set_speed(1000.0)
        events: list = []
        outcome, not_running = wait_from_store(
            store,
            c,
            [],
            schedule=FAST_POLLS,
            parallelism=4,
            timeout=30,
            on_event=events.append,
            now=_now,
        )
    assert not_running == ["jobs.b"]
    assert {a: j.state.value for a, j in outcome.settled.items()} == {"jobs.a": "success"}
    assert store.load().resources["jobs.a"].remote["state"] == "success"
    assert not store.journal_path.exists()  # folded into the state file


def test_ctrl_c_stops_waiting_jobs_keep_running_and_state_stays_true(
    emulator_factory, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0)
    with RealityModelingClient(slow.base_url, StaticToken(token), retry=RetryPolicy.fast()) as c:
        assert run_apply(desired_state(itwin_id, {"a": job_spec("A")}), store, c).ok
        events: list = []
        timer = threading.Timer(0.4, _thread.interrupt_main)
        timer.start()
        try:
            outcome, _ = wait_from_store(
                store,
                c,
                ["jobs.a"],
                schedule=FAST_POLLS,
                parallelism=2,
                timeout=30,
                on_event=events.append,
                now=_now,
            )
        finally:
            timer.cancel()
    assert outcome.interrupted
    assert outcome.running == ["jobs.a"]
    stopped = [e for e in events if isinstance(e, WaitStopped)]
    assert [(e.addresses, e.reason) for e in stopped] == [(("jobs.a",), "interrupted")]
    assert slow.jobs()[0].state.value == "active"
    state = store.load()
    assert state.pending == {}
    assert state.resources["jobs.a"].remote["state"] == "active"


def test_status_reads_every_job_in_state_with_its_live_progress(
    emulator_factory, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0)
    with RealityModelingClient(slow.base_url, StaticToken(token), retry=RetryPolicy.fast()) as c:
        desired = desired_state(itwin_id, {"a": job_spec("A"), "b": job_spec("B", submit=False)})
        assert run_apply(desired, store, c).ok
        rows = collect_status(job_records(store.load()), c)
    assert [(r.address, r.state) for r in rows] == [("jobs.a", "active"), ("jobs.b", "unsubmitted")]
    assert rows[0].percentage is not None and rows[0].step
    assert rows[0].outputs == store.load().resources["jobs.a"].outputs


def test_a_429_storm_pauses_every_worker_and_every_job_is_created_exactly_once(
    emulator: Emulator, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    # Retry-After: 2 s. Requests counted by the emulator 0.5 s and 1.5 s after the first 429:
    # the same figure means no worker sent anything in the middle of the pause.
    counts: list[int] = []
    bridge_events: list = []

    def sink(event: object) -> None:
        bridge_events.append(event)
        if len(bridge_events) == 1:
            for delay in (0.5, 1.5):
                timer = threading.Timer(delay, lambda: counts.append(emulator.request_count()))
                timer.start()

    with RealityModelingClient(
        emulator.base_url,
        StaticToken(token),
        retry=RetryPolicy.fast(),
        on_event=ClientEventBridge(sink),
    ) as c:
        emulator.throttle_next(2, retry_after=2, method="POST", path_prefix="/contextcapture/jobs")
        jobs = {f"j{i}": job_spec(f"Job {i}") for i in range(12)}
        summary = run_apply(desired_state(itwin_id, jobs), store, c, parallelism=8)
    assert summary.ok, summary.error()
    assert len(counts) == 2 and counts[0] == counts[1], counts
    assert sorted(j.name for j in emulator.jobs()) == sorted(f"Job {i}" for i in range(12))
    # 12 creates + the 2 refused ones: nothing was sent twice but what the 429 refused
    assert emulator.request_count("POST", "/contextcapture/jobs") == 14
    waits = [e for e in bridge_events if isinstance(e, RateLimitWait)]
    assert waits and all(0 < e.seconds <= 2.0 for e in waits)
    assert waits[0].message == "429 on POST /jobs"
    assert len(store.load().resources) == 13


def test_an_exhausted_rate_limit_is_waited_out_and_shown_not_hidden(
    emulator_factory, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    # a bucket of 30 requests a minute: the 31st request of this apply must wait about 2 s
    limited = emulator_factory(speed=1000.0, rate_limit=30)
    seen: list = []
    with RealityModelingClient(
        limited.base_url,
        StaticToken(token),
        retry=RetryPolicy.fast(),
        on_event=ClientEventBridge(seen.append),
    ) as c:
        jobs = {f"j{i}": job_spec(f"Job {i}") for i in range(15)}
        summary = run_apply(desired_state(itwin_id, jobs), store, c, parallelism=8)
    assert summary.ok, summary.error()
    assert len(limited.jobs()) == 15
    assert all(j.state.is_submitted for j in limited.jobs())
    assert any(isinstance(e, RateLimitWait) and e.seconds >= 1 for e in seen)
