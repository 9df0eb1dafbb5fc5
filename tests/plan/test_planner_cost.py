"""Cost of the jobs a plan runs: service figure first, local estimate labelled, unknown, budget."""

from __future__ import annotations

import pytest

from rmapply.errors import CostLimitError
from rmapply.plan import CostModel, CostSource, JobCost, RemoteView
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job,
    make_job_spec,
    make_record,
    make_state,
)
from tests.plan.planning import action, plan_for


def _cost(amount: float | None, source: CostSource) -> JobCost:
    return JobCost(amount=amount, source=source)


def test_cost_uses_the_service_figure_for_a_job_priced_with_the_same_parameters() -> None:
    spec = make_job_spec()
    state = make_state(main_workspace_record(), make_record("jobs.a", "job-a", spec))
    remote = RemoteView(jobs={"job-a": make_job("job-a", spec, estimated_cost=7.25)})
    submit = action(plan_for(make_desired({"a": spec}), state, remote), "jobs.a")
    assert submit.cost == _cost(7.25, CostSource.SERVICE)
    assert submit.cost.describe() == "7.25 (service figure)"


def test_cost_uses_the_local_estimate_when_the_priced_parameters_change() -> None:
    old, new = make_job_spec(), make_job_spec(settings={"quality": "Extra", "outputs": ["OBJ"]})
    state = make_state(main_workspace_record(), make_record("jobs.a", "job-a", old))
    update = action(plan_for(make_desired({"a": new}), state), "jobs.a")
    assert update.cost == _cost(4.5, CostSource.ESTIMATE)
    assert update.cost.describe() == "4.5 (local estimate)"


def test_cost_model_default_is_the_emulator_formula() -> None:
    model = CostModel()
    assert model.estimate(make_job_spec()) == 3.0  # (2 + 10 * 0.1) * 1.0
    draft = make_job_spec(settings={"quality": "Draft", "outputs": ["OBJ"]})
    assert model.estimate(draft) == 1.5
    mesh = make_job_spec(costEstimationParameters={"gigaPixels": 1.0, "meshQuality": "Extra"})
    assert model.estimate(mesh) == 1.5  # meshQuality wins over settings.quality
    assert model.estimate(make_job_spec(costEstimationParameters=None)) is None


def test_cost_model_is_overridable() -> None:
    model = CostModel(giga_pixel_rate=2.0, mega_point_rate=0.5, medium_factor=3.0)
    plan = plan_for(make_desired({"a": make_job_spec()}), cost_model=model)
    assert action(plan, "jobs.a").cost == _cost(27.0, CostSource.ESTIMATE)  # (4 + 5) * 3


def test_job_without_cost_estimation_parameters_has_an_unknown_cost() -> None:
    plan = plan_for(make_desired({"a": make_job_spec(costEstimationParameters=None)}))
    assert action(plan, "jobs.a").cost == _cost(None, CostSource.UNKNOWN)
    assert (plan.summary.cost.unknown, plan.summary.cost.total) == (1, 0.0)


def test_plan_total_sums_the_jobs_that_run_and_says_it_includes_estimates() -> None:
    spec = make_job_spec()
    state = make_state(main_workspace_record(), make_record("jobs.a", "job-a", spec))
    desired = make_desired(
        {"a": spec, "b": make_job_spec(name="B"), "c": make_job_spec(submit=False)}
    )
    summary = plan_for(desired, state).summary.cost
    assert (summary.total, summary.jobs, summary.includes_estimates) == (6.0, 2, True)


def test_plan_total_of_service_figures_only_is_not_an_estimate() -> None:
    spec = make_job_spec()
    state = make_state(main_workspace_record(), make_record("jobs.a", "job-a", spec))
    summary = plan_for(make_desired({"a": spec}), state).summary.cost
    assert (summary.total, summary.includes_estimates) == (3.0, False)


def test_cost_limit_error_names_total_limit_biggest_jobs_and_hint() -> None:
    desired = make_desired(
        {
            "big": make_job_spec(costEstimationParameters={"gigaPixels": 12.0}),
            "mid": make_job_spec(costEstimationParameters={"gigaPixels": 5.0}),
            "small": make_job_spec(costEstimationParameters={"gigaPixels": 2.0}),
            "tiny": make_job_spec(costEstimationParameters={"gigaPixels": 0.5}),
        }
    )
    with pytest.raises(CostLimitError) as caught:
        plan_for(desired, max_cost=10)
    assert caught.value.message == (
        "the plan's estimated cost 19.5 (includes local estimates) is above the budget of 10"
        " ([budget] maxCost); biggest jobs: jobs.big 12 (local estimate), jobs.mid 5 (local"
        " estimate), jobs.small 2 (local estimate)"
    )
    assert caught.value.hint == (
        "lower the jobs' cost (settings.quality, costEstimationParameters), plan fewer jobs with"
        " --target, or raise [budget] maxCost in rmapply.toml"
    )
    assert caught.value.exit_code == 1


def test_cost_limit_is_not_raised_at_the_budget_and_warns_about_unknown_costs() -> None:
    desired = make_desired(
        {"a": make_job_spec(), "b": make_job_spec(costEstimationParameters=None)}
    )
    plan = plan_for(desired, max_cost=3.0)
    assert plan.summary.cost.total == 3.0
    assert plan.warnings == (
        "1 job(s) without costEstimationParameters have an unknown cost and are not counted"
        " against [budget] maxCost",
    )
