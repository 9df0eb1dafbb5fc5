"""Wait for submitted jobs: poll progress on the API's back-off, record each job's final state.

Waiting holds no worker slot while it sleeps: one loop keeps a heap of due times and hands only the
polls themselves (short GETs) to a small pool, so thousands of running jobs cost nothing between
polls and never block the calls that change something.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from rmapply.apply.backoff import PollCursor, PollSchedule
from rmapply.apply.events import (
    ActionFailed,
    EventSink,
    JobSettled,
    ProgressReported,
    WaitStopped,
    discard,
)
from rmapply.errors import ApiError, AuthenticationError, NotFoundError
from rmapply.wire import Job, JobProgress, JobState, ProgressState

# A poll that keeps failing (after the client's own retries) gives up on that job only.
MAX_FAILED_POLLS = 5
# Once the back-off has reached its longest interval, also read the job itself: a job cancelled
# elsewhere has been seen to go on reporting "Active" progress.
READ_JOB_FROM_STEP = 3


@dataclass(frozen=True)
class WaitTarget:
    """A submitted job to wait for: its address in the state and its remote id."""

    address: str
    job_id: str


@dataclass
class WaitOutcome:
    """What waiting found: settled jobs by address, those still running, and poll failures."""

    settled: dict[str, Job] = field(default_factory=dict)
    running: list[str] = field(default_factory=list)
    failed: dict[str, ApiError] = field(default_factory=dict)
    interrupted: bool = False


@dataclass
class _Watch:
    target: WaitTarget
    cursor: PollCursor
    failures: int = 0


@dataclass(frozen=True)
class _Poll:
    progress: JobProgress | None
    job: Job | None


class JobWaiter:
    """Polls jobs until each succeeds, fails or is cancelled (or waiting is stopped)."""

    def __init__(
        self,
        *,
        get_progress: Callable[[str], JobProgress],
        get_job: Callable[[str], Job],
        record: Callable[[str, Job], None],
        schedule: PollSchedule,
        on_idle: Callable[[], None] | None = None,
        parallelism: int = 8,
        on_event: EventSink = discard,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._get_progress = get_progress
        self._get_job = get_job
        self._record = record
        self._on_idle = on_idle  # called while nothing is due or polled (a chain may close)
        self._schedule = schedule
        self._parallelism = max(1, parallelism)
        self._emit = on_event
        self._now = now
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._abort: str | None = None  # why waiting stopped early on an error, if it did
        # targets added while waiting (jobs submitted as their inputs became ready), and whether
        # more may come: a chain keeps the loop open until its last job is submitted
        self._wake = threading.Event()
        self._added: list[WaitTarget] = []
        self._added_lock = threading.Lock()
        self._open = False

    def stop(self) -> None:
        """Ask a running ``wait`` to return soon (jobs keep running on the service)."""
        self._stop.set()
        self._wake.set()

    def keep_open(self) -> None:
        """Let the next ``wait`` go on without targets until ``close`` (targets come by ``add``)."""
        self._open = True

    def add(self, target: WaitTarget) -> None:
        """Wait for ``target`` too, from the next turn of a running ``wait`` (any thread)."""
        with self._added_lock:
            self._added.append(target)
        self._wake.set()

    def close(self) -> None:
        """No more targets will be added: ``wait`` returns once the last one settles."""
        self._open = False
        self._wake.set()

    def _take_added(self) -> list[WaitTarget]:
        with self._added_lock:
            added, self._added = self._added, []
        return added

    def _push_added(
        self,
        targets: list[WaitTarget],
        due: list[tuple[float, int, _Watch]],
        seq: itertools.count[int],
        now: float,
    ) -> None:
        for target in self._take_added():
            targets.append(target)
            heapq.heappush(due, (now, next(seq), _Watch(target, PollCursor(self._schedule))))

    def wait(self, targets: Sequence[WaitTarget], *, timeout: float | None = None) -> WaitOutcome:
        """Poll every target until it settles, ``timeout`` seconds pass, or Ctrl-C."""
        outcome = WaitOutcome()
        targets = list(targets)
        if not targets and not self._open:
            return outcome
        deadline = None if timeout is None else self._monotonic() + timeout
        seq = itertools.count()
        due: list[tuple[float, int, _Watch]] = []
        start = self._monotonic()
        for target in targets:
            heapq.heappush(due, (start, next(seq), _Watch(target, PollCursor(self._schedule))))
        running: dict[Future[_Poll], _Watch] = {}
        workers = self._parallelism if self._open else min(self._parallelism, len(targets))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rmapply-wait")
        try:
            while (due or running or self._open or self._added) and not self._stop.is_set():
                self._wake.clear()
                now = self._monotonic()
                self._push_added(targets, due, seq, now)
                if deadline is not None and now >= deadline:
                    break
                while due and due[0][0] <= now and len(running) < workers:
                    _, _, watch = heapq.heappop(due)
                    running[pool.submit(self._poll, watch)] = watch
                next_due = due[0][0] if due else None
                pause = 0.5 if next_due is None else max(0.0, next_due - now)
                if deadline is not None:
                    pause = min(pause, max(0.0, deadline - now))
                if running:
                    # blocked on a free worker: any finished poll frees one
                    blocked = bool(due) and due[0][0] <= now
                    # an open chain adds targets: look for them often
                    limit = 0.5 if blocked else min(pause, 0.1 if self._open else 0.5)
                    done, _ = wait(running, timeout=limit, return_when=FIRST_COMPLETED)
                    for future in done:
                        watch = running.pop(future)
                        delay = self._settle(watch, future, outcome)
                        if delay is not None:
                            heapq.heappush(due, (self._monotonic() + delay, next(seq), watch))
                else:
                    if not due and self._on_idle is not None:
                        self._on_idle()
                    self._wake.wait(min(pause, 0.5))
        except KeyboardInterrupt:
            outcome.interrupted = True
        finally:
            self._finish(pool, running, outcome)
        # added but never polled (waiting stopped first): running all the same
        self._push_added(targets, due, seq, self._monotonic())
        outcome.running = sorted(
            t.address
            for t in targets
            if t.address not in outcome.settled and t.address not in outcome.failed
        )
        if outcome.running:
            self._emit(WaitStopped(self._now(), tuple(outcome.running), self._reason(outcome)))
        return outcome

    def _finish(
        self,
        pool: ThreadPoolExecutor,
        running: dict[Future[_Poll], _Watch],
        outcome: WaitOutcome,
    ) -> None:
        """Let the polls already on the wire finish and be recorded: the state stays true."""
        pool.shutdown(wait=False, cancel_futures=True)
        for future, watch in list(running.items()):
            if future.cancelled():
                continue
            try:
                self._settle(watch, future, outcome, block=True)
            except KeyboardInterrupt:
                outcome.interrupted = True
                break
        pool.shutdown(wait=True)

    def _reason(self, outcome: WaitOutcome) -> str:
        """Why waiting stopped before every job settled."""
        if self._abort is not None:
            return self._abort
        return "interrupted" if outcome.interrupted or self._stop.is_set() else "timeout"

    def _poll(self, watch: _Watch) -> _Poll:
        job_id = watch.target.job_id
        progress = self._get_progress(job_id)
        read_job = (
            progress.state is not ProgressState.ACTIVE
            or (progress.percentage or 0) >= 100
            or watch.cursor.step >= READ_JOB_FROM_STEP
        )
        return _Poll(progress, self._get_job(job_id) if read_job else None)

    def _settle(
        self, watch: _Watch, future: Future[_Poll], outcome: WaitOutcome, *, block: bool = False
    ) -> float | None:
        """Handle one finished poll; the delay until the next one, or None when done with it."""
        target = watch.target
        try:
            poll = future.result() if block else future.result(timeout=0)
        except AuthenticationError as exc:
            # no poll of any job can succeed with these credentials: stop waiting at once
            self._fail(target, exc, outcome)
            self._abort = f"the service answered {exc.status}"
            self._stop.set()
            return None
        except NotFoundError as exc:
            self._fail(target, exc, outcome)
            if exc.code != "JobNotFound":  # not the API's 404: the endpoint is wrong
                self._abort = "the endpoint answered 404 without the API's JobNotFound"
                self._stop.set()
            return None
        except ApiError as exc:
            watch.failures += 1
            if watch.failures >= MAX_FAILED_POLLS:
                self._fail(target, exc, outcome)
                return None
            return watch.cursor.after_poll(None)
        watch.failures = 0
        progress, job = poll.progress, poll.job
        percentage = float(progress.percentage or 0) if progress else 0.0
        delay = watch.cursor.after_poll(percentage)
        if job is not None and (job.state.is_terminal or job.state is JobState.UNSUBMITTED):
            self._record(target.address, job)
            outcome.settled[target.address] = job
            self._emit(_settled_event(self._now(), target, job))
            return None
        state = progress.state.value if progress and progress.state else "Active"
        step = progress.step or "" if progress else ""
        self._emit(
            ProgressReported(
                self._now(), target.address, target.job_id, percentage, state, step, delay
            )
        )
        return delay

    def _fail(self, target: WaitTarget, exc: ApiError, outcome: WaitOutcome) -> None:
        outcome.failed[target.address] = exc
        self._emit(
            ActionFailed(
                self._now(),
                target.address,
                "wait",
                exc.message,
                code=exc.code,
                status=exc.status,
                api_message=exc.api_message,
            )
        )


def _settled_event(at: datetime, target: WaitTarget, job: Job) -> JobSettled:
    info = job.execution_information
    errors = tuple(_text(m.code, m.title, m.message) for m in (info.errors or [])) if info else ()
    warnings = (
        tuple(_text(m.code, m.title, m.message) for m in (info.warnings or [])) if info else ()
    )
    return JobSettled(at, target.address, target.job_id, job.state.value, errors, warnings)


def _text(*parts: str | None) -> str:
    return ": ".join(p for p in parts if p)
