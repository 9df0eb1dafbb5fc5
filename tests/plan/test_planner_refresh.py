"""What the planner does with a refresh: jobs gone, failed or cancelled, progress and drift."""

from __future__ import annotations

from rmapply.model import FieldClass
from rmapply.plan import (
    CreateJob,
    FieldDiff,
    Forget,
    NoOp,
    RemoteChangeCategory,
    RemoteView,
    ReplaceJob,
    Retire,
    UpdateJob,
)
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job,
    make_job_spec,
    make_record,
    make_state,
    make_workspace,
    make_workspace_spec,
)
from tests.plan.planning import action, plan_for

SPEC = make_job_spec()


def _one_job(state: str = "active", *, retry: bool = False):  # type: ignore[no-untyped-def]
    desired = make_desired({"site-a": make_job_spec(retryFailed=retry)})
    record = make_record("jobs.site-a", "job-a", make_job_spec(retryFailed=retry), state=state)
    return desired, make_state(main_workspace_record(), record)


def _remote(job_state: str, spec=SPEC, **kwargs):  # type: ignore[no-untyped-def]
    return RemoteView(
        jobs={"job-a": make_job("job-a", spec, state=job_state, **kwargs)},
        workspaces={"ws-1": make_workspace("ws-1", make_workspace_spec())},
    )


def test_planner_creates_job_again_when_it_was_deleted_remotely() -> None:
    desired, state = _one_job("success")
    plan = plan_for(desired, state, RemoteView(gone=frozenset({"job-a"})))
    create = action(plan, "jobs.site-a")
    assert isinstance(create, CreateJob)
    assert create.previous_id == "job-a"
    assert create.precondition.seen == "gone"
    assert create.reasons == (
        "job job-a no longer exists remotely (404): a new job is created and submitted"
        " (submit = true)",
    )
    assert [(c.address.key, c.category) for c in plan.remote_changes] == [
        ("site-a", RemoteChangeCategory.GONE)
    ]


def test_planner_forgets_removed_job_that_is_gone_remotely() -> None:
    _, state = _one_job("active")
    plan = plan_for(make_desired(), state, RemoteView(gone=frozenset({"job-a"})))
    assert isinstance(action(plan, "jobs.site-a"), Forget)


def test_planner_shows_failed_job_as_failed_and_does_not_run_it_again() -> None:
    desired, state = _one_job("active")
    errors = [{"code": "E42", "message": "not enough overlap"}]
    plan = plan_for(desired, state, _remote("failed", errors=errors))
    noop = action(plan, "jobs.site-a")
    assert isinstance(noop, NoOp)
    assert noop.reasons == ("unchanged; job job-a failed and is not re-run (retryFailed = false)",)
    assert plan.warnings == (
        "jobs.site-a: job job-a failed (not enough overlap); it is not re-run (set retryFailed ="
        " true in manifests/jobs/site-a.toml:1 to create it again, or run it once more with"
        " --replace jobs.site-a)",
    )
    assert plan.remote_changes[0].category is RemoteChangeCategory.PROGRESS
    assert plan.remote_changes[0].message == "active -> failed"


def test_planner_creates_failed_job_again_when_its_manifest_asks_to_retry() -> None:
    desired, state = _one_job("active", retry=True)
    plan = plan_for(desired, state, _remote("failed", make_job_spec(retryFailed=True)))
    replace = action(plan, "jobs.site-a")
    assert isinstance(replace, ReplaceJob)
    assert (replace.retire, replace.old_state) == (Retire.KEEP, "failed")
    assert replace.reasons == (
        "job job-a failed and retryFailed = true: a new job is created and submitted"
        " (submit = true); the failed job's id moves to history",
    )


def test_planner_treats_a_cancelled_job_like_a_failed_one() -> None:
    desired, state = _one_job("active")
    assert isinstance(action(plan_for(desired, state, _remote("cancelled")), "jobs.site-a"), NoOp)
    desired, state = _one_job("active", retry=True)
    retried = action(plan_for(desired, state, _remote("cancelled")), "jobs.site-a")
    assert isinstance(retried, ReplaceJob) and retried.old_state == "cancelled"


def test_planner_lists_normal_progress_apart_from_drift_and_plans_nothing_for_it() -> None:
    desired, state = _one_job("active")
    plan = plan_for(desired, state, _remote("success"))
    assert not plan.anything_to_apply
    (change,) = plan.remote_changes
    assert change.category is RemoteChangeCategory.PROGRESS
    assert change.diff == (
        FieldDiff(
            path="state", before="active", after="success", field_class=FieldClass.RECONCILER
        ),
    )
    assert change.remote is not None and change.remote["state"] == "success"
    assert plan.drift == ()


def test_planner_reports_settings_changed_remotely_as_drift() -> None:
    desired, state = _one_job("active")
    drifted = make_job_spec(settings={"quality": "Extra", "outputs": ["OBJ"]})
    plan = plan_for(desired, state, _remote("active", drifted))
    (change,) = plan.drift
    assert [(c.path, c.before, c.after) for c in change.diff] == [
        ("settings.quality", "Medium", "Extra")
    ]
    assert plan.summary.drift == 1
    assert not plan.anything_to_apply


def test_planner_reports_a_submit_made_outside_rmapply_as_drift() -> None:
    desired, state = _one_job("unsubmitted")
    plan = plan_for(desired, state, _remote("active"))
    (change,) = plan.drift
    assert [(c.path, c.before, c.after) for c in change.diff] == [
        ("state", "unsubmitted", "active")
    ]


def test_planner_restores_drifted_settings_of_an_unsubmitted_job() -> None:
    desired = make_desired({"site-a": make_job_spec(submit=False)})
    state = make_state(
        main_workspace_record(), make_record("jobs.site-a", "job-a", make_job_spec(submit=False))
    )
    drifted = make_job_spec(submit=False, settings={"quality": "Extra", "outputs": ["OBJ"]})
    plan = plan_for(desired, state, _remote("unsubmitted", drifted))
    update = action(plan, "jobs.site-a")
    assert isinstance(update, UpdateJob)
    assert update.request.to_wire() == {"settings": {"quality": "Medium", "outputs": ["OBJ"]}}
    assert update.reasons == (
        "settings.quality changed outside rmapply: restored to the manifests' values",
    )
    assert [(c.path, c.before, c.after) for c in update.diff] == [
        ("settings.quality", "Extra", "Medium")
    ]


def test_refresh_only_plan_shows_remote_changes_alone() -> None:
    desired, state = _one_job("active")
    changed_desired = make_desired({"site-a": make_job_spec(name="Renamed"), "new": SPEC})
    plan = plan_for(changed_desired, state, _remote("success"), refresh_only=True)
    assert plan.actions == ()
    assert [c.category for c in plan.remote_changes] == [RemoteChangeCategory.PROGRESS]
    assert plan.anything_to_apply
    quiet = plan_for(desired, state, _remote("active"), refresh_only=True)
    assert not quiet.anything_to_apply


def test_planner_warns_about_resources_the_refresh_could_not_see() -> None:
    desired, state = _one_job("active")
    plan = plan_for(desired, state, RemoteView())
    assert plan.warnings == (
        "2 resource(s) in state were not refreshed: their last known state is used",
    )
