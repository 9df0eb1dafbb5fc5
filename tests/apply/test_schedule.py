"""The task scheduler: dependency order, bounded parallelism, skips after failures."""

from __future__ import annotations

import threading
import time

import pytest

from rmapply.apply.schedule import Task, TaskStatus, run_tasks
from rmapply.errors import ApiError


def _task(key: str, run=None, after=(), action: str = "create") -> Task:
    return Task(
        key=key,
        address=key.rsplit(":", maxsplit=1)[-1],
        action=action,
        run=run or (lambda: key),
        after=frozenset(after),
    )


def test_dependents_run_only_after_their_dependencies_succeed() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def record(key: str):
        def run() -> str:
            with lock:
                order.append(key)
            return key

        return run

    tasks = [
        _task("jobs.b", record("jobs.b"), after=["workspaces.w"]),
        _task("workspaces.w", record("workspaces.w")),
        _task("jobs.c", record("jobs.c"), after=["jobs.b"]),
    ]
    report = run_tasks(tasks, parallelism=4)
    assert order == ["workspaces.w", "jobs.b", "jobs.c"]
    assert all(r.status is TaskStatus.DONE for r in report.results.values())
    assert report.results["jobs.b"].value == "jobs.b"


def test_a_failed_task_skips_its_dependents_but_not_independent_tasks() -> None:
    def fail() -> None:
        raise ApiError("boom", code="InvalidContextCaptureRequest")

    tasks = [
        _task("workspaces.w", fail),
        _task("jobs.a", after=["workspaces.w"]),
        _task("jobs.b", after=["jobs.a"]),
        _task("jobs.free"),
    ]
    report = run_tasks(tasks, parallelism=2)
    assert report.status("workspaces.w") is TaskStatus.FAILED
    assert report.results["workspaces.w"].error is not None
    assert report.status("jobs.a") is TaskStatus.SKIPPED
    assert report.results["jobs.a"].reason == "depends on workspaces.w, whose create failed"
    assert report.status("jobs.b") is TaskStatus.SKIPPED
    assert report.results["jobs.b"].reason == "depends on jobs.a, whose create was skipped"
    assert report.status("jobs.free") is TaskStatus.DONE


def test_no_more_than_parallelism_tasks_run_at_once() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def run() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1

    run_tasks([_task(f"jobs.j{i}", run) for i in range(40)], parallelism=5)
    assert peak == 5


def test_prior_failures_skip_tasks_of_a_later_phase() -> None:
    report = run_tasks(
        [_task("submit:jobs.a", after=["jobs.a"], action="submit"), _task("submit:jobs.b")],
        parallelism=2,
        prior={"jobs.a": TaskStatus.FAILED},
    )
    assert report.status("submit:jobs.a") is TaskStatus.SKIPPED
    assert report.results["submit:jobs.a"].reason == "jobs.a did not succeed"
    assert report.status("submit:jobs.b") is TaskStatus.DONE


def test_an_unexpected_exception_fails_its_task_and_is_kept_as_a_bug() -> None:
    def broken() -> None:
        raise KeyError("x")

    report = run_tasks([_task("jobs.a", broken), _task("jobs.b")], parallelism=1)
    assert report.status("jobs.a") is TaskStatus.FAILED
    assert isinstance(report.bug, KeyError)
    assert report.status("jobs.b") is TaskStatus.DONE


def test_events_come_for_every_task_in_the_order_they_end() -> None:
    started: list[str] = []
    ended: list[tuple[str, TaskStatus]] = []

    def fail() -> None:
        raise ApiError("no")

    run_tasks(
        [_task("a", fail), _task("b", after=["a"]), _task("c", after=["a"])],
        parallelism=1,
        on_start=lambda t: started.append(t.key),
        on_end=lambda r: ended.append((r.key, r.status)),
    )
    assert started == ["a"]
    assert ended == [("a", TaskStatus.FAILED), ("b", TaskStatus.SKIPPED), ("c", TaskStatus.SKIPPED)]


def test_duplicate_keys_and_zero_parallelism_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        run_tasks([_task("a"), _task("a")], parallelism=1)
    with pytest.raises(ValueError, match="at least 1"):
        run_tasks([_task("a")], parallelism=0)


def test_a_long_chain_of_dependents_is_skipped_without_exhausting_the_stack() -> None:
    def fail() -> None:
        raise ApiError("no")

    tasks = [_task("j0", fail)] + [_task(f"j{i}", after=[f"j{i - 1}"]) for i in range(1, 3000)]
    report = run_tasks(tasks, parallelism=2)
    assert sum(r.status is TaskStatus.SKIPPED for r in report.results.values()) == 2999


def test_a_task_stopped_by_an_earlier_phase_ends_once_with_its_own_reason() -> None:
    ended: list[tuple[str, str]] = []
    report = run_tasks(
        [
            _task("submit:jobs.bad", after=["jobs.bad"], action="submit"),
            _task("submit:jobs.after", after=["jobs.after", "submit:jobs.bad"], action="submit"),
        ],
        parallelism=2,
        prior={"jobs.bad": TaskStatus.FAILED, "jobs.after": TaskStatus.SKIPPED},
        on_end=lambda r: ended.append((r.key, r.reason)),
    )
    assert ended == [
        ("submit:jobs.bad", "jobs.bad did not succeed"),
        ("submit:jobs.after", "jobs.after did not succeed"),
    ]
    assert report.status("submit:jobs.after") is TaskStatus.SKIPPED
