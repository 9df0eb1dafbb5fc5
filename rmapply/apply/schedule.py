"""Run tasks in dependency order with at most N running at once; a failure skips its dependents."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rmapply.apply.readiness import InputsNotReadyError
from rmapply.errors import RmapplyError


class TaskStatus(StrEnum):
    """How a task ended."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    WAITING = "waiting"  # a submit whose upstream jobs have not succeeded yet: not sent


@dataclass(frozen=True)
class Task:
    """One unit of work: ``run`` makes the API calls of one action (or one stage of it)."""

    key: str  # unique within a run, e.g. "jobs.a" or "submit:jobs.a"
    address: str
    action: str
    run: Callable[[], Any]
    after: frozenset[str] = frozenset()  # keys that must be DONE first


@dataclass(frozen=True)
class TaskResult:
    """The end of one task: its value when done, its error when failed, a reason when skipped."""

    key: str
    address: str
    action: str
    status: TaskStatus
    value: Any = None
    error: RmapplyError | None = None
    reason: str = ""


@dataclass
class TaskReport:
    """Every task's result in the order they ended, and whether the run was interrupted."""

    results: dict[str, TaskResult] = field(default_factory=dict)
    interrupted: bool = False
    bug: BaseException | None = None  # an exception that is not an RmapplyError: a defect

    def status(self, key: str) -> TaskStatus | None:
        """The status of ``key``, if it ran (or was skipped) in this run."""
        result = self.results.get(key)
        return result.status if result else None


def run_tasks(
    tasks: Sequence[Task],
    *,
    parallelism: int,
    prior: Mapping[str, TaskStatus] | None = None,
    on_start: Callable[[Task], None] | None = None,
    on_end: Callable[[TaskResult], None] | None = None,
) -> TaskReport:
    """Run ``tasks`` with at most ``parallelism`` at once, each only after everything it is
    ``after`` has succeeded; tasks after a failed or skipped one are skipped with a reason.

    ``prior`` gives the status of keys settled earlier (a previous phase); keys neither in
    ``tasks`` nor in ``prior`` count as satisfied. Ctrl-C stops starting new tasks, lets the
    running ones finish (their results are recorded by them), and marks the rest skipped.
    """
    if parallelism < 1:
        raise ValueError("parallelism must be at least 1")
    run = _Run(tasks, prior or {}, on_start, on_end)
    run.execute(parallelism)
    return run.report


class _Run:
    """The bookkeeping of one ``run_tasks`` call."""

    def __init__(
        self,
        tasks: Sequence[Task],
        prior: Mapping[str, TaskStatus],
        on_start: Callable[[Task], None] | None,
        on_end: Callable[[TaskResult], None] | None,
    ) -> None:
        self.tasks = list(tasks)
        self.by_key = {t.key: t for t in tasks}
        if len(self.by_key) != len(tasks):
            raise ValueError("task keys must be unique")
        self.order = {t.key: i for i, t in enumerate(tasks)}
        self.prior = prior
        self.on_start = on_start
        self.on_end = on_end
        self.report = TaskReport()
        self.waiting_on: dict[str, set[str]] = {}
        self.dependents: dict[str, list[str]] = {k: [] for k in self.by_key}
        for task in tasks:
            open_deps = {d for d in task.after if d in self.by_key}
            self.waiting_on[task.key] = open_deps
            for dep in open_deps:
                self.dependents[dep].append(task.key)
        self.ready: list[str] = []
        # tasks to skip (with this reason) once their own earlier stage has ended
        self.doomed: dict[str, str] = {}

    def execute(self, parallelism: int) -> None:
        for task in self.tasks:
            if task.key in self.report.results:
                continue  # already skipped along with an earlier task it depends on
            reason = self.prior_failure(task)
            if reason:
                self.skip(task.key, reason)
            elif not self.waiting_on[task.key]:
                self.ready.append(task.key)
        running: dict[Future[Any], Task] = {}
        pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="rmapply-apply")
        with pool:
            try:
                while self.ready or running:
                    self.ready.sort(key=self.order.__getitem__)
                    while self.ready and len(running) < parallelism:
                        key = self.ready.pop(0)
                        if key in self.report.results:
                            continue
                        task = self.by_key[key]
                        if self.on_start:
                            self.on_start(task)
                        running[pool.submit(task.run)] = task
                    if not running:
                        continue
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=lambda f: self.order[running[f].key]):
                        self.finish(_result_of(running.pop(future), future, self.report))
            except KeyboardInterrupt:
                self.report.interrupted = True
                for future in list(running):
                    # the running calls finish and record themselves; never abandoned mid-way
                    task = running.pop(future)
                    self.finish(_result_of(task, future, self.report, wait_for_it=True))
        reason = "apply was interrupted" if self.report.interrupted else "not reached"
        for task in self.tasks:
            if task.key not in self.report.results:
                self.skip(task.key, reason)

    def finish(self, first: TaskResult) -> None:
        # iterative, so a long chain of skipped dependents cannot exhaust the stack
        pending = [first]
        while pending:
            result = pending.pop(0)
            self.report.results[result.key] = result
            if self.on_end:
                self.on_end(result)
            if self.report.interrupted:
                continue
            for child in self.dependents[result.key]:
                if child in self.report.results or any(p.key == child for p in pending):
                    continue
                if result.status is TaskStatus.WAITING:
                    # what follows a waiting submit waits with it (the next apply goes on)
                    reason = f"waits for the {_label(result.key)}"
                    pending.append(self._skipped(child, reason, TaskStatus.WAITING))
                    continue
                if result.status is not TaskStatus.DONE:
                    # a task's own earlier failure says more than its neighbour's
                    own = self.prior_failure(self.by_key[child])
                    reason = own or _why_skipped(
                        self.by_key[child], self.by_key[result.key], result
                    )
                    if not own and self.own_stage_open(child, result.key):
                        # skipped once its own earlier stage has ended, with the reason it gives
                        self.doomed.setdefault(child, reason)
                        continue
                    pending.append(self._skipped(child, reason))
                    continue
                self.waiting_on[child].discard(result.key)
                if child in self.doomed and not self.own_stage_open(child, result.key):
                    pending.append(self._skipped(child, self.doomed[child]))
                elif not self.waiting_on[child] and child not in self.doomed:
                    self.ready.append(child)

    def own_stage_open(self, key: str, ending: str) -> bool:
        """Whether an earlier stage of the same action as ``key`` (its create, for a submit),
        other than ``ending``, has not ended yet."""
        address = self.by_key[key].address
        return any(
            d != ending and self.by_key[d].address == address and d not in self.report.results
            for d in self.waiting_on[key]
        )

    def prior_failure(self, task: Task) -> str:
        """Why ``task`` cannot run because of an earlier phase ("" when nothing stops it)."""
        outside = [d for d in sorted(task.after) if d not in self.by_key]
        failed = [d for d in outside if _bad(self.prior.get(d))]
        return f"{_label(failed[0])} did not succeed" if failed else ""

    def skip(self, key: str, reason: str) -> None:
        self.finish(self._skipped(key, reason))

    def _skipped(
        self, key: str, reason: str, status: TaskStatus = TaskStatus.SKIPPED
    ) -> TaskResult:
        task = self.by_key[key]
        return TaskResult(key, task.address, task.action, status, reason=reason)


def _result_of(
    task: Task, future: Future[Any], report: TaskReport, *, wait_for_it: bool = False
) -> TaskResult:
    try:
        value = future.result() if wait_for_it else future.result(timeout=0)
    except InputsNotReadyError as exc:
        # nothing was sent: blocked by a failed upstream (skipped), or waiting for one
        status = TaskStatus.SKIPPED if exc.blocked else TaskStatus.WAITING
        return TaskResult(
            task.key, task.address, task.action, status, value=exc, reason=exc.sentence
        )
    except RmapplyError as exc:
        return TaskResult(task.key, task.address, task.action, TaskStatus.FAILED, error=exc)
    except Exception as exc:
        # A defect, not a user-facing error: keep going for the independent tasks, report the
        # first one at the end with its traceback.
        if report.bug is None:
            report.bug = exc
        message = "".join(traceback.format_exception_only(exc)).strip()
        error = RmapplyError(f"internal error: {message}")
        return TaskResult(task.key, task.address, task.action, TaskStatus.FAILED, error=error)
    return TaskResult(task.key, task.address, task.action, TaskStatus.DONE, value=value)


def _bad(status: TaskStatus | None) -> bool:
    return status is TaskStatus.FAILED or status is TaskStatus.SKIPPED


def _label(key: str) -> str:
    stage, sep, address = key.partition(":")
    return f"{stage} of {address}" if sep else key


def _why_skipped(task: Task, dep: Task, result: TaskResult) -> str:
    if task.address == dep.address:
        # a later stage of the same action (the submit after its create), as across phases
        return f"{dep.address} did not succeed"
    if result.status is TaskStatus.FAILED:
        return f"depends on {dep.address}, whose {dep.action} failed"
    return f"depends on {dep.address}, whose {dep.action} was skipped"
