"""``apply --wait`` over a pipeline: polling starts with the first submit, and each submit that
waits for upstream jobs is sent the moment they have all succeeded (see docs/apply.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from rmapply.apply.backoff import PollSchedule
from rmapply.apply.events import (
    ActionStarted,
    ApplyEvent,
    EventSink,
    ProgressReported,
    WaitStopped,
)
from rmapply.apply.readiness import InputsNotReadyError, not_ready
from rmapply.apply.recording import Recorder
from rmapply.apply.schedule import Task, TaskResult, TaskStatus
from rmapply.apply.step_context import StepResult
from rmapply.apply.waiting import JobWaiter, WaitOutcome, WaitTarget
from rmapply.client import RealityModelingClient
from rmapply.errors import RmapplyError
from rmapply.state.lease import LeasedSession
from rmapply.wire import Job, JobState

# the state lock is let go once nothing was recorded or sent for this long: jobs that end
# together are recorded in one lock session, not one each (each session reads and writes the
# whole state, so one per job made a burst of N endings cost N full state writes)
RELEASE_WHEN_QUIET_SECONDS = 1.0


class Chain:
    """Polls submitted jobs in a thread of its own while the submits go on, and sends each
    waiting submit once its inputs are ready; ``on_end`` gets every result it produces."""

    def __init__(
        self,
        recorder: Recorder,
        client: RealityModelingClient,
        *,
        specs: Mapping[str, Mapping[str, Any]],
        phase_keys: set[str],
        schedule: PollSchedule,
        parallelism: int,
        timeout: float | None,
        emit: EventSink,
        now: Callable[[], datetime],
        on_end: Callable[[TaskResult], None],
        lease: LeasedSession | None = None,
    ) -> None:
        self.recorder = recorder
        self.specs = specs  # the planned spec of each address (its upstream jobs)
        self.phase_keys = phase_keys  # the keys of the submit phase's tasks
        self.timeout = timeout
        self.emit = emit
        self.now = now
        self.on_end = on_end
        # lets go of the state lock while the chain only polls; any record takes it back
        self.lease = lease
        self.percentages: dict[str, float] = {}
        self.waiting: dict[str, Task] = {}
        self.done: set[str] = set()
        self.outcome = WaitOutcome()
        self._watched: list[str] = []  # every job handed to the waiter, in order
        self._lock = threading.Lock()
        self._in_flight = 0
        self._phase_over = False
        self._stopped = False
        self._interrupted = False  # Ctrl-C while joined (the waiter's thread never sees it)
        self._last_activity = time.monotonic()  # the last record or send
        self._joined = threading.Event()
        # set by the waiter's thread once its outcome is in: join waits on this, never on
        # Thread.join (on Python 3.11 a Ctrl-C inside Thread.join(timeout) marks the thread
        # ended while it still runs, and apply then printed its summary before the waiter's
        # last progress and 'Stopped waiting' lines)
        self._waited = threading.Event()
        self._releaser: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="rmapply-chain")
        self.waiter = JobWaiter(
            get_progress=client.get_progress,
            get_job=client.get_job,
            record=self._settled,
            schedule=schedule,
            parallelism=parallelism,
            on_event=self._progress,
            now=now,
            on_idle=self._idle,
        )
        self.waiter.keep_open()
        self._thread: threading.Thread | None = None

    def start(self, running: Sequence[WaitTarget]) -> None:
        """Begin polling ``running`` (jobs already active); more come as they are submitted."""
        self._watched.extend(t.address for t in running)
        self._thread = threading.Thread(
            target=self._wait, args=(list(running),), name="rmapply-chain-wait", daemon=True
        )
        self._thread.start()

    def ended(self, task: Task, result: TaskResult) -> None:
        """A submit-phase task ended: poll what was submitted, keep what waits."""
        with self._lock:
            if result.status is TaskStatus.WAITING:
                self.waiting[task.key] = task
            elif result.status is TaskStatus.DONE:
                self.done.add(task.key)
                value = result.value
                submitted = task.action == "submit" and isinstance(value, StepResult)
                if submitted and value.remote_id and value.job_state == JobState.ACTIVE:
                    self._watched.append(task.address)
                    self.waiter.add(WaitTarget(task.address, value.remote_id))
        self._carry_on()

    def phase_over(self) -> None:
        """Every submit-phase task has ended: the chain closes once nothing more can start."""
        with self._lock:
            self._phase_over = True
        self._carry_on()
        if self.lease is not None and self._releaser is None:
            # in a thread of the chain: Ctrl-C lands in the main thread, never halfway through it
            releaser = threading.Thread(
                target=self._release_when_quiet, name="rmapply-chain-lease", daemon=True
            )
            releaser.start()
            self._releaser = releaser  # only once started: Ctrl-C may land in between

    def _release_when_quiet(self) -> None:
        """Let go of the state lock whenever nothing was recorded or sent for a while."""
        at_once = True  # right after the submits, as before the first wait
        while True:
            with self._lock:
                quiet = time.monotonic() - self._last_activity >= RELEASE_WHEN_QUIET_SECONDS
                if self.lease is not None and self._in_flight == 0 and (quiet or at_once):
                    self.lease.release()  # a no-op while already released
            at_once = False
            if self._joined.wait(RELEASE_WHEN_QUIET_SECONDS / 4):
                return

    def join(self) -> WaitOutcome:
        """Wait for the chain to end; Ctrl-C stops it (the jobs keep running)."""
        assert self._thread is not None
        try:
            while not self._waited.wait(0.2):
                pass
        except KeyboardInterrupt:
            self._interrupted = True
            self.stop()
            self._waited.wait()  # its polls on the wire are settled and shown before the summary
        self._pool.shutdown(wait=True)  # a submit on the wire finishes and is recorded
        self._joined.set()
        if self._releaser is not None:
            self._releaser.join()  # never letting go of the lock while apply records the end
        outcome = self.outcome
        outcome.interrupted |= self._interrupted
        # a job submitted as waiting stopped may never have reached the waiter: running too
        missed = [
            a
            for a in dict.fromkeys(self._watched)
            if a not in outcome.settled and a not in outcome.failed and a not in outcome.running
        ]
        if missed:
            outcome.running = sorted([*outcome.running, *missed])
            reason = "interrupted" if outcome.interrupted or self._stopped else "timeout"
            self.emit(WaitStopped(self.now(), tuple(outcome.running), reason))
        return outcome

    def stop(self) -> None:
        """Stop waiting (apply was interrupted): nothing more is submitted."""
        with self._lock:
            self._stopped = True
        self.waiter.stop()

    # -- inside the chain -------------------------------------------------------------------

    def _wait(self, targets: list[WaitTarget]) -> None:
        try:
            self.outcome = self.waiter.wait(targets, timeout=self.timeout)
        finally:
            self._waited.set()

    def _progress(self, event: ApplyEvent) -> None:
        if isinstance(event, ProgressReported):
            self.percentages[event.address] = event.percentage
        self.emit(event)

    def _settled(self, address: str, job: Job) -> None:
        with self._lock:
            self._in_flight += 1  # recording: the lock is not let go meanwhile
        try:
            if self.lease is not None:
                self.lease.retake()  # the record is read again as the state holds it now
            self.recorder.observe(address, job)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_activity = time.monotonic()
        self._carry_on()

    def _eligible(self, task: Task) -> bool:
        if any(k in self.phase_keys and k not in self.done for k in task.after):
            return False
        upstreams = not_ready(self.recorder, self.specs.get(task.address) or {})
        # a failed upstream lets the step say it is blocked; a running one keeps it waiting
        return not upstreams or any(u.failed for u in upstreams)

    def _carry_on(self) -> None:
        with self._lock:
            if self._stopped:
                return
            for key in [k for k, t in self.waiting.items() if self._eligible(t)]:
                task = self.waiting.pop(key)
                self._in_flight += 1
                self._pool.submit(self._run, task)

    def _idle(self) -> None:
        """Nothing is polled: what still waits cannot become ready in this apply."""
        self._carry_on()
        with self._lock:
            if self._phase_over and self._in_flight == 0:
                self.waiter.close()

    def _run(self, task: Task) -> None:
        if not not_ready(self.recorder, self.specs.get(task.address) or {}):
            self.emit(ActionStarted(self.now(), task.address, task.action))
        try:
            value = task.run()
        except InputsNotReadyError as exc:
            status = TaskStatus.SKIPPED if exc.blocked else TaskStatus.WAITING
            result = TaskResult(
                task.key, task.address, task.action, status, value=exc, reason=exc.sentence
            )
        except RmapplyError as exc:
            result = TaskResult(task.key, task.address, task.action, TaskStatus.FAILED, error=exc)
        else:
            result = TaskResult(task.key, task.address, task.action, TaskStatus.DONE, value=value)
        self.on_end(result)
        self.ended(task, result)
        with self._lock:
            self._in_flight -= 1
            self._last_activity = time.monotonic()
        self._carry_on()
