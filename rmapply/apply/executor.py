"""Carry out a plan: every change in dependency order with at most N calls at once, each submit
as soon as its job is created (or, with a budget, behind the budget gate), then (optionally)
waiting; everything recorded as it happens.

Order of operations (docs/apply.md): without a budget (``--max-cost``, ``[budget] maxCost``) all
the tasks run as one graph, the critical path first: a job is submitted as soon as it is created,
before the creates of jobs that come after it. With a budget the gate needs the service's
``estimatedCost`` of every job about to be submitted, known only once they are all created, so
phase 1 runs every action except submitting, the gate sums and checks those figures, and phase 2
submits (and cancels replaced jobs) unless the budget holds them; a gate that can be decided from
the state alone (every submit is of a job created earlier) is decided first and, when it passes,
the tasks run as one graph too. With ``wait`` every submitted job is polled until it settles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rmapply.apply.backoff import PollSchedule
from rmapply.apply.budget import BudgetDecision, check_budget, priced_submits
from rmapply.apply.chain import Chain
from rmapply.apply.events import ApplyFinished, EventSink, discard
from rmapply.apply.graph import change_tasks, critical_path_first, dependencies, submit_tasks
from rmapply.apply.outcomes import OutcomeLog
from rmapply.apply.recording import CHECKPOINT_EVERY_SECONDS, Recorder
from rmapply.apply.recovery import DEFAULT_CLOCK_SKEW
from rmapply.apply.schedule import Task, TaskReport, TaskResult, TaskStatus, run_tasks
from rmapply.apply.step_context import StepContext
from rmapply.apply.summary import ApplySummary
from rmapply.apply.waiting import WaitOutcome, WaitTarget
from rmapply.apply.watch import wait_for_jobs
from rmapply.client import RealityModelingClient
from rmapply.plan.actions import NoOp, SubmitJob
from rmapply.plan.drift import RemoteChangeCategory
from rmapply.plan.pending import DEFAULT_IN_FLIGHT_MARGIN
from rmapply.plan.result import Plan
from rmapply.state import StateSession
from rmapply.state.lease import LeasedSession
from rmapply.wire import Job, JobState

DEFAULT_PARALLELISM = 8


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply (the CLI fills it from flags and rmapply.toml)."""

    parallelism: int = DEFAULT_PARALLELISM
    max_cost: float | None = None  # --max-cost / [budget] maxCost: held when over
    wait: bool = False  # --wait: poll submitted jobs until they settle
    poll_schedule: PollSchedule = field(default_factory=PollSchedule)
    wait_timeout: float | None = None
    itwin_id: str | None = None  # the project's iTwin (recovery filters)
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW
    # seconds after the read timeout during which a lost create may still land (docs/apply.md)
    in_flight_margin: float = DEFAULT_IN_FLIGHT_MARGIN
    checkpoint_every: float = CHECKPOINT_EVERY_SECONDS
    # carry out the cancels of replaced jobs that an earlier apply asked for and could not do
    # (off for a saved plan, which is applied exactly)
    recorded_cancels: bool = True
    # record the jobs' normal progress the plan's refresh saw (active -> success...), so the state
    # stays true even where nothing is changed; off for a saved plan, whose sightings are old
    record_progress: bool = True


def execute_plan(
    plan: Plan,
    session: StateSession,
    client: RealityModelingClient,
    *,
    options: ApplyOptions | None = None,
    on_event: EventSink = discard,
    now: Callable[[], datetime] | None = None,
) -> ApplySummary:
    """Apply ``plan`` under the held state ``session``; returns what happened to every action.

    Never raises for a failed action (the summary says, and ``summary.error()`` is the
    ApplyError to raise); raises only for defects.
    """
    options = options or ApplyOptions()
    clock = now or _utcnow
    recorder = Recorder(session, now=clock, checkpoint_every=options.checkpoint_every)
    ctx = StepContext(
        client,
        recorder,
        on_event,
        options.itwin_id,
        options.clock_skew,
        in_flight_margin=options.in_flight_margin,
    )
    run = _PlanRun(plan, ctx, options, on_event, clock)
    try:
        summary = run.execute()
    finally:
        recorder.checkpoint()
    return summary


class _PlanRun:
    """The bookkeeping of one execute_plan call."""

    def __init__(
        self,
        plan: Plan,
        ctx: StepContext,
        options: ApplyOptions,
        emit: EventSink,
        clock: Callable[[], datetime],
    ) -> None:
        self.plan = plan
        self.ctx = ctx
        self.options = options
        self.emit = emit
        self.clock = clock
        actions = [a for a in plan.actions if not isinstance(a, NoOp)]
        self.by_key = {str(a.address): a for a in actions}
        self.deps = dependencies(actions, ctx.recorder)
        self.log = OutcomeLog(ctx, self.by_key, emit, clock)

    def execute(self) -> ApplySummary:
        if self.options.record_progress:
            self._record_progress()
        changes = change_tasks(self.ctx, self.by_key, self.deps)
        submitting = submit_tasks(
            self.ctx, self.by_key, self.deps, recorded_cancels=self.options.recorded_cancels
        )
        budget: BudgetDecision | None = None
        if self._gate_passed_before_changes(submitting):
            report, chain = self._run_at_once(changes, submitting)
        else:
            budget, report, chain = self._run_in_phases(changes, submitting)
        waited = WaitOutcome()
        if chain is not None:
            waited = chain.join()
            self.ctx.recorder.checkpoint()
        elif self.options.wait and not report.interrupted:
            # everything changed is written to the state file before a wait of hours begins
            self.ctx.recorder.checkpoint()
            waited = wait_for_jobs(
                self.ctx.recorder,
                self.ctx.client,
                self._to_wait_for(),
                schedule=self.options.poll_schedule,
                parallelism=self.options.parallelism,
                timeout=self.options.wait_timeout,
                on_event=self.emit,
                now=self.clock,
            )
        self.log.report_waiting(chain.percentages if chain is not None else None)
        summary = ApplySummary(
            outcomes=tuple(self.log.outcomes),
            budget_message=budget.message if budget else "",
            budget_hint=budget.hint if budget else "",
            job_states={a: j.state.value for a, j in waited.settled.items()},
            still_running=tuple(waited.running),
            interrupted=report.interrupted or waited.interrupted,
        )
        counts = summary.counts()
        self.emit(
            ApplyFinished(
                self.clock(),
                counts["done"],
                counts["failed"],
                counts["skipped"],
                counts["held"],
                counts["unknown"],
                counts["waiting"],
            )
        )
        return summary

    # -- one graph, or two phases around the budget gate ------------------------------------

    def _gate_passed_before_changes(self, submitting: list[Task]) -> bool:
        """Whether the budget gate can let every submit go before any change is made: no budget,
        or every submit is of a job created earlier (its estimatedCost is in the state, and no
        change of this apply alters it) and they fit. Otherwise the gate waits for phase 1 and
        decides as ever (submits after a failed change no longer count then)."""
        if self.options.max_cost is None:
            return True
        standalone = (
            isinstance(self.by_key.get(t.address), SubmitJob)
            for t in submitting
            if t.action == "submit"
        )
        if not all(standalone):
            return False
        priced = priced_submits(submitting, {}, self.ctx.recorder)
        return check_budget(priced, self.options.max_cost).allowed

    def _run_at_once(
        self, changes: list[Task], submitting: list[Task]
    ) -> tuple[TaskReport, Chain | None]:
        """Changes and submits as one graph, the critical path first: each job is submitted as
        soon as it is created and its inputs are ready."""
        tasks = critical_path_first([*changes, *submitting], self.deps)
        return self._run(tasks, {}, chained=bool(submitting))

    def _run_in_phases(
        self, changes: list[Task], submitting: list[Task]
    ) -> tuple[BudgetDecision | None, TaskReport, Chain | None]:
        """Phase 1 (every change), the budget gate on the service's figures, phase 2."""
        first, _ = self._run(changes, {}, chained=False)
        if not submitting:
            return None, first, None
        if first.interrupted:
            self.log.skipped(submitting, "apply was interrupted")
            return None, first, None
        prior = {k: r.status for k, r in first.results.items()}
        budget = check_budget(
            priced_submits(submitting, prior, self.ctx.recorder), self.options.max_cost
        )
        if not budget.allowed:
            self.log.held(submitting, prior, budget)
            return budget, first, None
        second, chain = self._run(submitting, prior, chained=True)
        return budget, second, chain

    def _run(
        self, tasks: list[Task], prior: dict[str, TaskStatus], *, chained: bool
    ) -> tuple[TaskReport, Chain | None]:
        """Run ``tasks``; with ``--wait`` (and ``chained``) the chain polls from the first submit
        on, and Ctrl-C at any moment of it stops the chain (what is on the wire finishes and is
        recorded)."""
        on_end: Callable[[TaskResult], None] = self.log.ended
        chain: Chain | None = None
        if chained and self.options.wait:
            # polling starts with the first submit, not after the last one
            self.ctx.recorder.checkpoint()
            chain = self._chain(tasks)
            on_end = self._ended_in(chain, tasks)
        report = TaskReport()
        try:
            report = run_tasks(
                tasks,
                parallelism=self.options.parallelism,
                prior=prior,
                on_start=self.log.started,
                on_end=on_end,
            )
            if chain is not None:
                if report.interrupted:
                    chain.stop()
                chain.phase_over()
                # every submit made now is in the state file before a wait of hours
                self.ctx.recorder.checkpoint()
        except KeyboardInterrupt:
            if chain is None:
                raise
            report.interrupted = True
            chain.stop()
        if report.bug is not None:
            raise report.bug
        return report, chain

    # -- pipelines --------------------------------------------------------------------------

    def _chain(self, tasks: list[Task]) -> Chain:
        chain = Chain(
            self.ctx.recorder,
            self.ctx.client,
            specs={k: a.after or {} for k, a in self.by_key.items()},
            phase_keys={t.key for t in tasks},
            schedule=self.options.poll_schedule,
            parallelism=self.options.parallelism,
            timeout=self.options.wait_timeout,
            emit=self.emit,
            now=self.clock,
            on_end=self.log.ended,
            lease=session
            if isinstance(session := self.ctx.recorder.session, LeasedSession)
            else None,
        )
        targets = []
        for address in self._to_wait_for():
            record = self.ctx.recorder.record(address)
            if record is not None:
                targets.append(WaitTarget(address, record.remote_id))
        chain.start(targets)
        return chain

    def _ended_in(self, chain: Chain, tasks: list[Task]) -> Callable[[TaskResult], None]:
        by_key = {t.key: t for t in tasks}

        def ended(result: TaskResult) -> None:
            self.log.ended(result)
            chain.ended(by_key[result.key], result)

        return ended

    def _record_progress(self) -> None:
        recorder = self.ctx.recorder
        for change in self.plan.remote_changes:
            if change.category is not RemoteChangeCategory.PROGRESS or change.remote is None:
                continue
            record = recorder.record(str(change.address))
            if record is None or record.kind != "job" or record.remote_id != change.remote_id:
                continue
            recorder.observe(record.address, Job.from_answer(change.remote))

    def _to_wait_for(self) -> list[str]:
        """Every planned job that is running now (submitted by this apply or before)."""
        wanted = []
        for action in self.plan.actions:
            address = str(action.address)
            record = self.ctx.recorder.record(address)
            if record is not None and record.kind == "job" and record.job_state == JobState.ACTIVE:
                wanted.append(address)
        return wanted


def _utcnow() -> datetime:
    return datetime.now(UTC)
