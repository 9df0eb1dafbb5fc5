"""Cost of the jobs a plan runs: the service's figure where it priced the job, else a model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from rmapply.errors import CostLimitError
from rmapply.model import JobSpec
from rmapply.plan.actions import Action, CostSource, JobCost, format_cost
from rmapply.wire import Quality


# CostModel and CostTotal are named tuples: built at import for a third of a dataclass's cost
class CostModel(NamedTuple):
    """``round((gigaPixels * rate + megaPoints * rate) * factor, 2)``, factor by mesh quality.

    The defaults are the emulator's formula; ``[cost]`` in rmapply.toml overrides them.
    """

    giga_pixel_rate: float = 1.0
    mega_point_rate: float = 0.1
    draft_factor: float = 0.5
    medium_factor: float = 1.0
    extra_factor: float = 1.5

    def factor(self, quality: Quality) -> float:
        """The multiplier for ``quality``."""
        return {
            Quality.DRAFT: self.draft_factor,
            Quality.MEDIUM: self.medium_factor,
            Quality.EXTRA: self.extra_factor,
        }[quality]

    def estimate(self, spec: JobSpec) -> float | None:
        """The local estimate for ``spec``; None without costEstimationParameters."""
        params = spec.cost_estimation_parameters
        if params is None:
            return None
        quality = params.mesh_quality or spec.settings.quality
        units = (params.giga_pixels or 0.0) * self.giga_pixel_rate + (
            params.mega_points or 0.0
        ) * self.mega_point_rate
        return round(units * self.factor(quality), 2)


def job_cost(spec: JobSpec, priced: dict[str, Any] | None, model: CostModel) -> JobCost:
    """The cost of running ``spec``.

    ``priced`` is an existing job (wire JSON, refreshed or last seen): its ``estimatedCost`` is
    used when it was priced from the same type, quality and costEstimationParameters.
    """
    params = spec.cost_estimation_parameters
    if params is None:
        return JobCost(amount=None, source=CostSource.UNKNOWN)
    if priced is not None and priced.get("estimatedCost") is not None:
        same = (
            priced.get("type") == spec.type.value
            and (priced.get("jobSettings") or {}).get("quality") == spec.settings.quality.value
            and priced.get("costEstimationParameters") == params.to_wire()
        )
        if same:
            return JobCost(amount=float(priced["estimatedCost"]), source=CostSource.SERVICE)
    return JobCost(amount=model.estimate(spec), source=CostSource.ESTIMATE)


class CostTotal(NamedTuple):
    """Known total of the running jobs, whether it includes local estimates, unknown count."""

    total: float
    includes_estimates: bool
    unknown: int
    jobs: int


def total_cost(actions: Sequence[Action]) -> CostTotal:
    """Sum the costs of the actions that run a job."""
    costs = [a.cost for a in actions if a.cost is not None]
    known = [c.amount for c in costs if c.amount is not None]
    return CostTotal(
        total=round(sum(known), 2),
        includes_estimates=any(c.source is CostSource.ESTIMATE for c in costs),
        unknown=sum(1 for c in costs if c.amount is None),
        jobs=len(costs),
    )


def check_budget(
    actions: Sequence[Action], max_cost: float | None, source: str = "[budget] maxCost"
) -> None:
    """Raise CostLimitError when the known total is above ``max_cost`` (set by ``source``)."""
    if max_cost is None:
        return
    total = total_cost(actions)
    if total.total <= max_cost:
        return
    priced = sorted(
        (a for a in actions if a.cost is not None and a.cost.amount is not None),
        key=lambda a: (-(a.cost.amount or 0.0) if a.cost else 0.0, str(a.address)),
    )
    biggest = ", ".join(f"{a.address} {a.cost.describe()}" for a in priced[:3] if a.cost)
    estimates = " (includes local estimates)" if total.includes_estimates else ""
    raise CostLimitError(
        f"the plan's estimated cost {format_cost(total.total)}{estimates} is above the budget"
        f" of {format_cost(max_cost)} ({source}); biggest jobs: {biggest}",
        hint=(
            "lower the jobs' cost (settings.quality, costEstimationParameters), plan fewer jobs"
            f" with --target, or raise {source}"
            + (" in rmapply.toml" if source.startswith("[") else "")
        ),
    )
