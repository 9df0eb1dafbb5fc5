"""Unresolved operations block what they could duplicate; --target limits a plan."""

from __future__ import annotations

import pytest

from rmapply.errors import PlanError
from rmapply.plan import ActionType
from tests.factories import (
    EARLIER,
    main_workspace_record,
    make_desired,
    make_job_spec,
    make_pending,
    make_record,
    make_state,
    make_workspace_spec,
)
from tests.plan.planning import kinds, plan_for


def test_planner_never_plans_create_for_address_with_pending_operation() -> None:
    state = make_state(
        main_workspace_record(), pending=[make_pending("jobs.site-a", name="Site A")]
    )
    plan = plan_for(make_desired({"site-a": make_job_spec()}), state)
    assert plan.action_for("jobs.site-a") is None
    assert plan.summary.counts[ActionType.CREATE] == 0
    assert plan.summary.unresolved == 1


def test_planner_shows_unresolved_create_with_the_commands_that_settle_it() -> None:
    state = make_state(pending=[make_pending("jobs.site-a", name="Site A")])
    (unresolved,) = plan_for(make_desired({"site-a": make_job_spec()}), state).unresolved
    assert unresolved.commands == (
        "rmapply import jobs.site-a JOB_ID",
        "rmapply state forget-intent jobs.site-a",
    )
    assert unresolved.message == (
        f"the create of jobs.site-a was sent at {EARLIER.isoformat()} but no answer came: a job"
        " named 'Site A' may exist remotely; rmapply will not create it again until this is"
        " settled"
    )
    assert unresolved.sent_at == EARLIER


def test_planner_plans_nothing_for_a_job_whose_submit_is_unresolved() -> None:
    spec = make_job_spec()
    state = make_state(
        main_workspace_record(),
        make_record("jobs.site-a", "job-a", spec),
        pending=[make_pending("jobs.site-a", "submit", remote_id="job-a")],
    )
    plan = plan_for(make_desired({"site-a": spec}), state)
    assert plan.action_for("jobs.site-a") is None
    assert plan.unresolved[0].commands == ("rmapply state forget-intent jobs.site-a",)


def test_planner_creates_again_a_workspace_whose_create_lost_its_answer_and_plans_its_jobs() -> (
    None
):
    state = make_state(pending=[make_pending("workspaces.main", name="Main")])
    plan = plan_for(make_desired({"site-a": make_job_spec(), "site-b": make_job_spec()}), state)
    assert [(str(a.address), a.action.value) for a in plan.to_apply] == [
        ("workspaces.main", "create"),
        ("jobs.site-a", "create"),
        ("jobs.site-b", "create"),
    ]
    assert plan.unresolved == ()
    reasons = plan.action_for("workspaces.main").reasons  # type: ignore[union-attr]
    assert reasons[-1].endswith(
        "lost its answer: it is created again (workspaces cost nothing and cannot be listed); a"
        " workspace named 'Main' may exist unused"
    )


def test_planner_still_shows_a_lost_create_of_a_workspace_no_longer_in_the_manifests() -> None:
    state = make_state(pending=[make_pending("workspaces.main", name="Main")])
    plan = plan_for(make_desired({}, {}), state)
    assert plan.unresolved[0].commands[0] == "rmapply import workspaces.main WORKSPACE_ID"


def _three_sites():  # type: ignore[no-untyped-def]
    return make_desired(
        {
            "site-a": make_job_spec(),
            "site-b": make_job_spec(dependsOn=["jobs.calib"]),
            "calib": make_job_spec(workspace="other"),
            "town": make_job_spec(),
        },
        {"main": make_workspace_spec(), "other": make_workspace_spec(name="Other")},
    )


def test_targets_limit_the_plan_to_matching_jobs_and_what_they_need() -> None:
    plan = plan_for(_three_sites(), targets=("jobs.site-*",))
    assert set(kinds(plan)) == {
        "workspaces.main",
        "workspaces.other",
        "jobs.site-a",
        "jobs.site-b",
        "jobs.calib",
    }
    assert plan.targets == ("jobs.site-*",)
    assert plan.warnings == (
        "targeting is in effect: 5 of 6 resources are planned; a plan without --target may show"
        " more changes",
    )


def test_target_on_a_workspace_plans_it_alone() -> None:
    plan = plan_for(_three_sites(), targets=("workspaces.main",))
    assert kinds(plan) == {"workspaces.main": "create"}


def test_target_on_a_removed_job_plans_its_removal() -> None:
    state = make_state(
        main_workspace_record(),
        make_record("jobs.old", "job-o", make_job_spec()),
        make_record("jobs.older", "job-p", make_job_spec()),
    )
    plan = plan_for(make_desired(), state, targets=("jobs.old",))
    assert kinds(plan) == {"jobs.old": "delete"}


def test_target_matching_nothing_is_an_error() -> None:
    with pytest.raises(PlanError) as caught:
        plan_for(_three_sites(), targets=("jobs.site-*", "jobs.sit", "workspace.main"))
    assert caught.value.message == (
        "--target 'jobs.sit', 'workspace.main' matches no resource in the manifests or the state"
    )
    assert caught.value.hint == (
        "did you mean 'jobs.site-b', 'workspaces.main'? --target takes an address or a glob"
        " such as 'jobs.site-*'"
    )
