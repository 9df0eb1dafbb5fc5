"""Carry out a plan: changes in dependency order with at most N calls at once, then the budget
gate, then the submits, then (optionally) waiting; everything recorded as it happens.

Order of operations (docs/apply.md): phase 1 runs every action except submitting (creates,
updates, replacements, deletes, forgets), each after the actions it depends on; the service's
``estimatedCost`` of every job about to be submitted is then summed and checked against the
budget; phase 2 submits (and cancels replaced jobs) unless the budget holds them; with ``wait``
every submitted job is then polled until it settles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from rmapply.apply import steps
from rmapply.apply.backoff import PollSchedule
from rmapply.apply.budget import BudgetDecision, PricedSubmit, check_budget
from rmapply.apply.chain import Chain
from rmapply.apply.events import (
    ActionFailed,
    ActionFinished,
    ActionSkipped,
    ActionStarted,
    ApplyFinished,
    BudgetHeld,
    EventSink,
    discard,
)
from rmapply.apply.graph import bind, dependencies, step_for, submits
from rmapply.apply.readiness import not_ready, waiting_reports
from rmapply.apply.recorded_cancels import recorded_cancel_tasks
from rmapply.apply.recording import CHECKPOINT_EVERY_SECONDS, Recorder
from rmapply.apply.recovery import DEFAULT_CLOCK_SKEW
from rmapply.apply.schedule import Task, TaskReport, TaskResult, TaskStatus, run_tasks
from rmapply.apply.step_context import StepContext, StepResult, check_precondition
from rmapply.apply.summary import ActionOutcome, ApplySummary, OutcomeStatus
from rmapply.apply.waiting import WaitOutcome, WaitTarget
from rmapply.apply.watch import wait_for_jobs
from rmapply.client import RealityModelingClient
from rmapply.plan.actions import (
    Action,
    NoOp,
    ReplaceJob,
    Retire,
    SubmitJob,
)
from rmapply.plan.drift import RemoteChangeCategory
from rmapply.plan.pending import DEFAULT_IN_FLIGHT_MARGIN, unresolved
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
        self.actions = [a for a in plan.actions if not isinstance(a, NoOp)]
        self.by_key = {str(a.address): a for a in self.actions}
        self.deps = dependencies(self.actions, ctx.recorder)
        self.outcomes: list[ActionOutcome] = []
        # submits not sent because an upstream job has not succeeded yet, by task key
        self.waiting: dict[str, TaskResult] = {}

    def execute(self) -> ApplySummary:
        if self.options.record_progress:
            self._record_progress()
        first = run_tasks(
            self._phase_one(),
            parallelism=self.options.parallelism,
            on_start=self._started,
            on_end=self._ended,
        )
        self._raise_bug(first)
        budget: BudgetDecision | None = None
        second_tasks = self._phase_two()
        second = TaskReport()
        chain: Chain | None = None
        if not first.interrupted and second_tasks:
            prior = {k: r.status for k, r in first.results.items()}
            budget = self._budget(second_tasks, prior)
            if budget.allowed:
                second, chain = self._submit_phase(second_tasks, prior)
                self._raise_bug(second)
            else:
                self._hold(second_tasks, prior, budget)
        elif first.interrupted:
            for task in second_tasks:
                self._ended(
                    TaskResult(
                        task.key,
                        task.address,
                        task.action,
                        TaskStatus.SKIPPED,
                        reason="apply was interrupted",
                    )
                )
        waited = WaitOutcome()
        interrupted = first.interrupted or second.interrupted
        if chain is not None:
            waited = chain.join()
            self.ctx.recorder.checkpoint()
        elif self.options.wait and not interrupted:
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
        self._report_waiting(chain.percentages if chain is not None else None)
        summary = ApplySummary(
            outcomes=tuple(self.outcomes),
            budget_message=budget.message if budget else "",
            budget_hint=budget.hint if budget else "",
            job_states={a: j.state.value for a, j in waited.settled.items()},
            still_running=tuple(waited.running),
            interrupted=interrupted or waited.interrupted,
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

    # -- pipelines --------------------------------------------------------------------------

    def _submit_phase(
        self, tasks: list[Task], prior: dict[str, TaskStatus]
    ) -> tuple[TaskReport, Chain | None]:
        """Phase 2; with ``--wait`` the chain polls from the first submit on, and Ctrl-C at any
        moment of it stops the chain (what is on the wire finishes and is recorded)."""
        on_end: Callable[[TaskResult], None] = self._ended
        chain: Chain | None = None
        if self.options.wait:
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
                on_start=self._started,
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
        return report, chain

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
            on_end=self._ended,
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
            self._ended(result)
            chain.ended(by_key[result.key], result)

        return ended

    def _report_waiting(self, percentages: dict[str, float] | None) -> None:
        """What still waits for upstream jobs: one event and one outcome each."""
        if not self.waiting:
            return
        specs = {k: a.after or {} for k, a in self.by_key.items()}
        waiting = [(r.address, r.action, r.reason) for r in self.waiting.values()]
        for event, outcome in waiting_reports(
            self.ctx.recorder,
            self.ctx.client,
            waiting,
            specs,
            percentages=percentages,
            now=self.clock(),
        ):
            self.emit(event)
            self.outcomes.append(outcome)
        self.waiting.clear()

    def _record_progress(self) -> None:
        recorder = self.ctx.recorder
        for change in self.plan.remote_changes:
            if change.category is not RemoteChangeCategory.PROGRESS or change.remote is None:
                continue
            record = recorder.record(str(change.address))
            if record is None or record.kind != "job" or record.remote_id != change.remote_id:
                continue
            recorder.observe(record.address, Job.from_answer(change.remote))

    # -- building the tasks -----------------------------------------------------------------

    def _phase_one(self) -> list[Task]:
        tasks = []
        for action in self.actions:
            if isinstance(action, SubmitJob):
                continue  # all of it happens in phase 2, behind the budget gate
            key = str(action.address)
            after = frozenset(d for d in self.deps[key] if d in self.by_key)
            tasks.append(Task(key, key, action.action.value, step_for(self.ctx, action), after))
        return tasks

    def _phase_two(self) -> list[Task]:
        submitting = {k for k, a in self.by_key.items() if submits(a)}
        tasks = []
        for key, action in self.by_key.items():
            deps = {f"submit:{d}" for d in self.deps[key] if d in submitting}
            if not isinstance(action, SubmitJob):
                deps.add(key)
            if key in submitting:
                tasks.append(
                    Task(f"submit:{key}", key, "submit", self._submit(action), frozenset(deps))
                )
            if isinstance(action, ReplaceJob) and action.retire is Retire.CANCEL:
                after = frozenset({f"submit:{key}"} if key in submitting else {key})
                tasks.append(
                    Task(
                        f"cancel:{key}",
                        key,
                        "cancel",
                        bind(steps.cancel_replaced, self.ctx, action),
                        after,
                    )
                )
        if self.options.recorded_cancels:
            tasks.extend(recorded_cancel_tasks(self.ctx, self.by_key, submitting))
        return tasks

    def _submit(self, action: Action) -> Callable[[], StepResult]:
        address = str(action.address)
        if isinstance(action, SubmitJob):

            def standalone() -> StepResult:
                check_precondition(action, self.ctx.recorder)
                return steps.submit_job(self.ctx, address, spec=action.after, planned=action.after)

            return standalone
        return lambda: steps.submit_job(self.ctx, address, planned=action.after)

    # -- the budget gate --------------------------------------------------------------------

    def _budget(self, tasks: list[Task], prior: dict[str, TaskStatus]) -> BudgetDecision:
        submits = []
        for task in tasks:
            if task.action != "submit":
                continue
            if any(prior.get(d) in (TaskStatus.FAILED, TaskStatus.SKIPPED) for d in task.after):
                continue  # it will be skipped anyway: it costs nothing
            record = self.ctx.recorder.record(task.address)
            cost = (record.remote or {}).get("estimatedCost") if record else None
            submits.append(PricedSubmit(task.address, float(cost) if cost is not None else None))
        return check_budget(submits, self.options.max_cost)

    def _hold(
        self, tasks: list[Task], prior: dict[str, TaskStatus], budget: BudgetDecision
    ) -> None:
        self.emit(
            BudgetHeld(
                self.clock(),
                budget.held,
                budget.total,
                budget.limit or 0.0,
                budget.unpriced,
                budget.message,
            )
        )
        for task in tasks:
            failed = [
                d
                for d in sorted(task.after)
                if prior.get(d) in (TaskStatus.FAILED, TaskStatus.SKIPPED)
            ]
            if failed:
                result = TaskResult(
                    task.key,
                    task.address,
                    task.action,
                    TaskStatus.SKIPPED,
                    reason=f"{failed[0]} did not succeed",
                )
                self._ended(result)
                continue
            self.emit(ActionSkipped(self.clock(), task.address, task.action, budget.message))
            self.outcomes.append(
                ActionOutcome(task.address, task.action, OutcomeStatus.HELD, "over the budget")
            )

    # -- waiting ----------------------------------------------------------------------------

    def _to_wait_for(self) -> list[str]:
        """Every planned job that is running now (submitted by this apply or before)."""
        wanted = []
        for action in self.plan.actions:
            address = str(action.address)
            record = self.ctx.recorder.record(address)
            if record is not None and record.kind == "job" and record.job_state == JobState.ACTIVE:
                wanted.append(address)
        return wanted

    # -- events -----------------------------------------------------------------------------

    def _started(self, task: Task) -> None:
        action = self.by_key.get(task.address)
        spec = action.after if action is not None else None
        if task.action == "submit" and spec and not_ready(self.ctx.recorder, spec):
            return  # nothing is sent: it is reported as waiting (or blocked) instead
        self.emit(ActionStarted(self.clock(), task.address, task.action))

    def _ended(self, result: TaskResult) -> None:
        at = self.clock()
        if result.status is TaskStatus.WAITING:
            self.waiting[result.key] = result  # reported at the end, if it still waits
            return
        self.waiting.pop(result.key, None)
        if result.status is TaskStatus.DONE:
            value = result.value if isinstance(result.value, StepResult) else StepResult()
            self.emit(
                ActionFinished(
                    at,
                    result.address,
                    result.action,
                    value.remote_id,
                    value.job_state,
                    value.estimated_cost,
                    dict(value.outputs),
                    value.note,
                )
            )
            self.outcomes.append(
                ActionOutcome(
                    result.address,
                    result.action,
                    OutcomeStatus.DONE,
                    value.note,
                    remote_id=value.remote_id,
                )
            )
            return
        if result.status is TaskStatus.SKIPPED:
            self.emit(ActionSkipped(at, result.address, result.action, result.reason))
            self.outcomes.append(
                ActionOutcome(result.address, result.action, OutcomeStatus.SKIPPED, result.reason)
            )
            return
        error = result.error
        assert error is not None
        pending = self.ctx.recorder.pending(result.address)
        unknown = pending is not None
        outcome = ActionOutcome.failed(result.address, result.action, error)
        if pending is not None:
            commands = self.ctx.settle_commands.get(result.address) or unresolved(pending).commands
            outcome = replace(outcome, status=OutcomeStatus.UNKNOWN, commands=commands)
        self.outcomes.append(outcome)
        self.emit(
            ActionFailed(
                at,
                result.address,
                result.action,
                error.message,
                code=outcome.code,
                status=getattr(error, "status", None),
                api_message=outcome.api_message,
                outcome_unknown=unknown,
            )
        )

    @staticmethod
    def _raise_bug(report: TaskReport) -> None:
        if report.bug is not None:
            raise report.bug


def _utcnow() -> datetime:
    return datetime.now(UTC)
