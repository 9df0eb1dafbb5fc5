"""The job waiter's loop with plain values: back-off, settling, failures, stop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from rmapply.apply.backoff import PollSchedule
from rmapply.apply.events import ApplyEvent, JobSettled, ProgressReported, WaitStopped
from rmapply.apply.waiting import JobWaiter, WaitTarget
from rmapply.errors import NotFoundError, ServerError
from rmapply.wire import Job, JobProgress

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _job(job_id: str, state: str, **info: object) -> Job:
    body: dict[str, object] = {
        "id": job_id,
        "name": job_id,
        "type": "Full",
        "state": state,
        "createdDateTime": "2026-01-01T00:00:00Z",
        "lastModifiedDateTime": "2026-01-01T00:00:00Z",
        "location": "East US",
        "workspaceId": "w",
        "email": "a@b.c",
        "inputs": [{"id": "i"}],
        "jobSettings": {"quality": "Draft", "outputs": [{"format": "OBJ", "id": "o-" + job_id}]},
    }
    if state != "unsubmitted":
        body["executionInformation"] = {"submittedDateTime": "2026-01-01T00:00:00Z", **info}
    return Job.from_wire(body)


class FakeService:
    """Plain callables standing in for the client: scripted progress per job."""

    def __init__(self, scripts: dict[str, list[tuple[float, str]]], final: dict[str, str]):
        self.scripts = scripts
        self.final = final
        self.polls: dict[str, int] = dict.fromkeys(scripts, 0)
        self.lock = threading.Lock()

    def progress(self, job_id: str) -> JobProgress:
        with self.lock:
            script = self.scripts[job_id]
            i = min(self.polls[job_id], len(script) - 1)
            self.polls[job_id] += 1
        pct, state = script[i]
        return JobProgress(percentage=pct, state=state, step="Step")

    def job(self, job_id: str) -> Job:
        script = self.scripts[job_id]
        done = self.polls[job_id] >= len(script) and script[-1][1] == "Over"
        return _job(job_id, self.final[job_id] if done else "active")


def _waiter(service: FakeService, events: list[ApplyEvent], recorded: dict[str, Job]) -> JobWaiter:
    return JobWaiter(
        get_progress=service.progress,
        get_job=service.job,
        record=recorded.__setitem__,
        schedule=PollSchedule(scale=0.0001),
        parallelism=4,
        on_event=events.append,
        now=lambda: NOW,
    )


def test_waiter_polls_until_every_job_settles_and_records_each_final_state() -> None:
    service = FakeService(
        {"a": [(0, "Active"), (50, "Active"), (100, "Over")], "b": [(0, "Active"), (10, "Over")]},
        {"a": "success", "b": "failed"},
    )
    events: list[ApplyEvent] = []
    recorded: dict[str, Job] = {}
    outcome = _waiter(service, events, recorded).wait(
        [WaitTarget("jobs.a", "a"), WaitTarget("jobs.b", "b")], timeout=10
    )
    assert {k: j.state.value for k, j in outcome.settled.items()} == {
        "jobs.a": "success",
        "jobs.b": "failed",
    }
    assert set(recorded) == {"jobs.a", "jobs.b"}
    assert outcome.running == []
    settled = [e for e in events if isinstance(e, JobSettled)]
    assert sorted(e.state for e in settled) == ["failed", "success"]
    progress = [e.percentage for e in events if isinstance(e, ProgressReported) and e.job_id == "a"]
    assert progress == [0, 50]


def test_waiter_gives_up_on_a_job_that_no_longer_exists_and_keeps_the_others() -> None:
    service = FakeService({"b": [(0, "Active"), (100, "Over")]}, {"b": "success"})

    def progress(job_id: str) -> JobProgress:
        if job_id == "gone":
            raise NotFoundError("not found", status=404, code="JobNotFound")
        return service.progress(job_id)

    events: list[ApplyEvent] = []
    waiter = _waiter(service, events, {})
    waiter._get_progress = progress
    outcome = waiter.wait([WaitTarget("jobs.gone", "gone"), WaitTarget("jobs.b", "b")], timeout=10)
    assert set(outcome.failed) == {"jobs.gone"}
    assert outcome.failed["jobs.gone"].code == "JobNotFound"
    assert set(outcome.settled) == {"jobs.b"}


def test_waiter_keeps_polling_through_a_few_failed_polls() -> None:
    service = FakeService({"a": [(0, "Active"), (100, "Over")]}, {"a": "success"})
    failures = iter([True, True, False, False, False])

    def progress(job_id: str) -> JobProgress:
        if next(failures, False):
            raise ServerError("503", status=503)
        return service.progress(job_id)

    waiter = _waiter(service, [], {})
    waiter._get_progress = progress
    outcome = waiter.wait([WaitTarget("jobs.a", "a")], timeout=10)
    assert set(outcome.settled) == {"jobs.a"}


def test_waiter_stops_at_its_timeout_and_names_the_jobs_still_running() -> None:
    service = FakeService({"a": [(0, "Active")]}, {"a": "success"})
    events: list[ApplyEvent] = []
    outcome = _waiter(service, events, {}).wait([WaitTarget("jobs.a", "a")], timeout=0.05)
    assert outcome.running == ["jobs.a"]
    assert isinstance(events[-1], WaitStopped)
    assert events[-1].addresses == ("jobs.a",)
    assert events[-1].reason == "timeout"


def test_waiting_runs_at_most_parallelism_polls_and_holds_no_worker_between_them() -> None:
    jobs = {f"j{i}": [(0.0, "Active"), (50.0, "Active"), (100.0, "Over")] for i in range(40)}
    service = FakeService(jobs, dict.fromkeys(jobs, "success"))
    in_flight = 0
    peak = 0
    first_polls_done_before_any_second = True
    lock = threading.Lock()

    def progress(job_id: str) -> JobProgress:
        nonlocal in_flight, peak, first_polls_done_before_any_second
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
            if service.polls[job_id] == 1 and 0 in service.polls.values():
                first_polls_done_before_any_second = False
        try:
            return service.progress(job_id)
        finally:
            with lock:
                in_flight -= 1

    waiter = JobWaiter(
        get_progress=progress,
        get_job=service.job,
        record=lambda a, j: None,
        schedule=PollSchedule(scale=0.01),  # 0.15 s before each job's second poll
        parallelism=2,
        now=lambda: NOW,
    )
    outcome = waiter.wait([WaitTarget(f"jobs.{k}", k) for k in jobs], timeout=30)
    assert len(outcome.settled) == 40
    assert peak <= 2
    # two workers polled all forty jobs once before any job's back-off ended: a job waiting for
    # its next poll holds no worker
    assert first_polls_done_before_any_second
