"""What the user sees of each task of an apply: an event as it starts and ends, and one outcome
of the summary per action (done, failed, skipped, held by the budget, waiting, unknown)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from rmapply.apply.budget import BudgetDecision
from rmapply.apply.events import (
    ActionFailed,
    ActionFinished,
    ActionSkipped,
    ActionStarted,
    BudgetHeld,
    EventSink,
)
from rmapply.apply.readiness import not_ready, waiting_reports
from rmapply.apply.schedule import Task, TaskResult, TaskStatus
from rmapply.apply.step_context import StepContext, StepResult
from rmapply.apply.summary import ActionOutcome, OutcomeStatus
from rmapply.plan.actions import Action
from rmapply.plan.pending import unresolved


class OutcomeLog:
    """Turns task starts and ends into events and the summary's outcomes, in the order they
    happen; submits that wait for upstream jobs are reported once, at the end."""

    def __init__(
        self,
        ctx: StepContext,
        planned: Mapping[str, Action],
        emit: EventSink,
        clock: Callable[[], datetime],
    ) -> None:
        self.ctx = ctx
        self.planned = planned
        self.emit = emit
        self.clock = clock
        self.outcomes: list[ActionOutcome] = []
        # submits not sent because an upstream job has not succeeded yet, by task key
        self.waiting: dict[str, TaskResult] = {}

    def started(self, task: Task) -> None:
        """A task is about to make its calls."""
        action = self.planned.get(task.address)
        spec = action.after if action is not None else None
        if task.action == "submit" and spec and not_ready(self.ctx.recorder, spec):
            return  # nothing is sent: it is reported as waiting (or blocked) instead
        self.emit(ActionStarted(self.clock(), task.address, task.action))

    def ended(self, result: TaskResult) -> None:
        """A task ended: its event and outcome (a waiting submit's come at the end)."""
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
        self._failed(result, at)

    def _failed(self, result: TaskResult, at: datetime) -> None:
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

    def skipped(self, tasks: Sequence[Task], reason: str) -> None:
        """``tasks`` were never started (``reason``: apply was interrupted)."""
        for task in tasks:
            self.ended(
                TaskResult(task.key, task.address, task.action, TaskStatus.SKIPPED, reason=reason)
            )

    def held(
        self, tasks: Sequence[Task], prior: Mapping[str, TaskStatus], budget: BudgetDecision
    ) -> None:
        """The budget held ``tasks``: each is held, or skipped when a change it needs failed."""
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
                self.ended(result)
                continue
            self.emit(ActionSkipped(self.clock(), task.address, task.action, budget.message))
            self.outcomes.append(
                ActionOutcome(task.address, task.action, OutcomeStatus.HELD, "over the budget")
            )

    def report_waiting(self, percentages: Mapping[str, float] | None) -> None:
        """What still waits for upstream jobs: one event and one outcome each."""
        if not self.waiting:
            return
        specs = {k: a.after or {} for k, a in self.planned.items()}
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
