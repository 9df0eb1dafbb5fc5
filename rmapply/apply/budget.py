"""The budget gate: submit only when the service's own estimates of this apply fit the limit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rmapply.apply.recording import Recorder
from rmapply.apply.schedule import Task, TaskStatus


@dataclass(frozen=True)
class PricedSubmit:
    """A job apply is about to submit, with the cost the service estimated for it (if any)."""

    address: str
    estimated_cost: float | None


@dataclass(frozen=True)
class BudgetDecision:
    """Whether the submits may go ahead, and the figures behind the answer."""

    allowed: bool
    limit: float | None
    total: float
    held: tuple[str, ...] = ()
    unpriced: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """Why the submits were held (empty when allowed)."""
        if self.allowed:
            return ""
        return (
            f"submitting {len(self.held)} job(s) would cost {self.total:g} by the service's "
            f"estimates, over the budget of {self.limit:g}; left unsubmitted: "
            f"{', '.join(self.held)}{self.unpriced_note}"
        )

    @property
    def unpriced_note(self) -> str:
        """Which submits the service gave no estimatedCost for (they are not counted)."""
        if not self.unpriced:
            return ""
        return (
            f" ({len(self.unpriced)} job(s) without costEstimationParameters are not counted: "
            f"{', '.join(self.unpriced)})"
        )

    @property
    def hint(self) -> str:
        """What the user can do next."""
        if self.allowed:
            return ""
        return (
            "raise --max-cost (or [budget] maxCost in rmapply.toml), lower the jobs' cost, or "
            "submit fewer jobs with --target; the jobs are created and recorded, and the next "
            "apply that fits the budget submits them"
        )


def check_budget(submits: Sequence[PricedSubmit], limit: float | None) -> BudgetDecision:
    """All or nothing: with a limit, the service's estimates of every submit must fit in it.

    Jobs the service did not price (no costEstimationParameters) are not counted, as in the
    plan's cost check, and are named in the decision.
    """
    priced = round(sum(s.estimated_cost or 0.0 for s in submits), 6)
    unpriced = tuple(s.address for s in submits if s.estimated_cost is None)
    # a rounding error must not refuse a budget that fits exactly
    if limit is None or not submits or priced <= limit + 1e-9:
        return BudgetDecision(allowed=True, limit=limit, total=priced, unpriced=unpriced)
    return BudgetDecision(
        allowed=False,
        limit=limit,
        total=priced,
        held=tuple(s.address for s in submits),
        unpriced=unpriced,
    )


def priced_submits(
    tasks: Sequence[Task], prior: Mapping[str, TaskStatus], recorder: Recorder
) -> list[PricedSubmit]:
    """The submits among ``tasks`` with the service's ``estimatedCost`` recorded for each job;
    a submit after a change that failed or was skipped (by ``prior``) costs nothing."""
    out = []
    for task in tasks:
        if task.action != "submit":
            continue
        if any(prior.get(d) in (TaskStatus.FAILED, TaskStatus.SKIPPED) for d in task.after):
            continue  # it will be skipped anyway: it costs nothing
        record = recorder.record(task.address)
        cost = (record.remote or {}).get("estimatedCost") if record else None
        out.append(PricedSubmit(task.address, float(cost) if cost is not None else None))
    return out
