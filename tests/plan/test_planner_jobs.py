"""How the planner treats a job: create, update, replace, submit, record, delete, forget."""

from __future__ import annotations

import pytest

from rmapply.errors import PlanError
from rmapply.model import Address, FieldClass
from rmapply.plan import (
    KNOWN_AFTER_APPLY,
    ActionType,
    CreateJob,
    DeleteJob,
    Forget,
    NoOp,
    Precondition,
    Record,
    ReplaceJob,
    Retire,
    SubmitJob,
    UpdateJob,
)
from rmapply.wire import JobCreation, JobPatch
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job_spec,
    make_record,
    make_state,
    make_workspace_spec,
)
from tests.plan.planning import action, plan_for


def _state(*records):  # type: ignore[no-untyped-def]
    return make_state(main_workspace_record(), *records)


def test_planner_creates_job_that_is_not_in_state_with_the_exact_body() -> None:
    spec = make_job_spec()
    plan = plan_for(make_desired({"site-a": spec}), _state())
    create = action(plan, "jobs.site-a")
    assert isinstance(create, CreateJob)
    assert create.precondition == Precondition(in_state=False)
    assert create.request == JobCreation.from_wire(
        {
            "type": "Full",
            "name": "Site A",
            "workspaceId": "ws-1",
            "inputs": [{"id": "photos-a", "description": "drone photos"}],
            "settings": {"quality": "Medium", "outputs": ["OBJ"]},
            "costEstimationParameters": {"gigaPixels": 2.0, "megaPoints": 10.0},
        }
    )
    assert create.submit is True
    assert create.submit_request == JobPatch.from_wire({"state": "Active"})
    assert create.after == spec.to_wire()
    assert create.reasons == (
        "jobs.site-a is in the manifests but not in the state: it is created and submitted"
        " (submit = true)",
    )


def test_planner_creates_unsubmitted_job_without_cost_when_submit_is_false() -> None:
    plan = plan_for(make_desired({"site-a": make_job_spec(submit=False)}), _state())
    create = action(plan, "jobs.site-a")
    assert isinstance(create, CreateJob)
    assert (create.submit, create.submit_request, create.cost) == (False, None, None)
    assert plan.summary.cost.jobs == 0


def test_planner_resolves_workspace_created_in_the_same_plan_at_apply_time() -> None:
    plan = plan_for(make_desired({"site-a": make_job_spec()}))
    create = action(plan, "jobs.site-a")
    assert isinstance(create, CreateJob)
    assert create.workspace_ref == Address.workspace("main")
    assert create.request.workspace_id == KNOWN_AFTER_APPLY
    assert create.request_body({Address.workspace("main"): "ws-9"}).workspace_id == "ws-9"
    with pytest.raises(PlanError) as caught:
        create.request_body({})
    assert caught.value.message == (
        "jobs.site-a: the id of workspaces.main is not known yet: this apply has not created it"
        " (a placeholder takes only an id made by the same apply); nothing was sent"
    )


def test_planner_plans_nothing_for_unchanged_job() -> None:
    spec = make_job_spec()
    plan = plan_for(
        make_desired({"site-a": spec}),
        _state(make_record("jobs.site-a", "job-a", spec, state="success")),
    )
    assert isinstance(action(plan, "jobs.site-a"), NoOp)
    assert not plan.anything_to_apply
    assert plan.summary.counts[ActionType.NOOP] == 2


def test_planner_updates_unsubmitted_job_in_place_when_settings_change() -> None:
    old = make_job_spec()
    new = make_job_spec(settings={"quality": "Extra", "outputs": ["OBJ"]})
    plan = plan_for(make_desired({"site-a": new}), _state(make_record("jobs.site-a", "job-a", old)))
    update = action(plan, "jobs.site-a")
    assert isinstance(update, UpdateJob)
    assert update.remote_id == "job-a"
    assert update.request.to_wire() == {"settings": {"quality": "Extra", "outputs": ["OBJ"]}}
    assert update.submit_request == JobPatch.from_wire({"state": "Active"})
    assert [(c.path, c.before, c.after) for c in update.diff] == [
        ("settings.quality", "Medium", "Extra")
    ]
    assert update.precondition == Precondition(
        in_state=True,
        remote_id="job-a",
        state="unsubmitted",
        seen="last seen",
        digest=make_record("jobs.site-a", "job-a", old).digest,
    )


def test_planner_updates_unsubmitted_job_when_type_and_cost_parameters_change() -> None:
    new = make_job_spec(
        type="Reconstruction", costEstimationParameters={"gigaPixels": 5.0, "megaPoints": 10.0}
    )
    plan = plan_for(
        make_desired({"site-a": new}),
        _state(make_record("jobs.site-a", "job-a", make_job_spec())),
    )
    update = action(plan, "jobs.site-a")
    assert isinstance(update, UpdateJob)
    assert update.request.to_wire() == {
        "type": "Reconstruction",
        "costEstimationParameters": {"gigaPixels": 5.0, "megaPoints": 10.0},
    }


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"name": "Site A2"}, "name"),
        ({"inputs": [{"id": "photos-b", "description": "drone photos"}]}, "inputs[0].id"),
        ({"inputs": [{"id": "photos-a", "description": "other"}]}, "inputs[0].description"),
        ({"costEstimationParameters": None}, "costEstimationParameters"),
    ],
)
def test_planner_replaces_unsubmitted_job_when_a_field_patch_cannot_change_changed(
    change: dict[str, object], path: str
) -> None:
    plan = plan_for(
        make_desired({"site-a": make_job_spec(**change)}),
        _state(make_record("jobs.site-a", "job-a", make_job_spec())),
    )
    replace = action(plan, "jobs.site-a")
    assert isinstance(replace, ReplaceJob)
    assert (replace.retire, replace.old_remote_id, replace.old_state) == (
        Retire.DELETE,
        "job-a",
        "unsubmitted",
    )
    assert replace.retire_request is None
    assert replace.reasons == (
        f"{path} cannot be changed by PATCH on an unsubmitted job: job job-a is deleted (nothing"
        " was spent) and a new job is created and submitted (submit = true)",
    )


def test_planner_replaces_submitted_job_when_inputs_change() -> None:
    new = make_job_spec(inputs=[{"id": "photos-b", "description": "drone photos"}])
    plan = plan_for(
        make_desired({"site-a": new}),
        _state(make_record("jobs.site-a", "job-a", make_job_spec(), state="success")),
    )
    replace = action(plan, "jobs.site-a")
    assert isinstance(replace, ReplaceJob)
    assert replace.retire is Retire.KEEP
    assert replace.request.inputs[0].id == "photos-b"
    assert [c.field_class for c in replace.diff] == [FieldClass.RERUN]
    assert replace.reasons == (
        "inputs[0].id changes what the job computes and job job-a is already submitted"
        " (success): a new job is created and submitted (submit = true); the old job and its"
        " outputs stay; its id moves to history",
    )


def test_planner_keeps_an_active_replaced_job_running_unless_asked_to_cancel_it() -> None:
    desired = make_desired(
        {"site-a": make_job_spec(settings={"quality": "Draft", "outputs": ["OBJ"]})}
    )
    state = _state(make_record("jobs.site-a", "job-a", make_job_spec(), state="active"))
    kept = action(plan_for(desired, state), "jobs.site-a")
    cancelled = action(plan_for(desired, state, cancel_replaced=True), "jobs.site-a")
    assert isinstance(kept, ReplaceJob)
    assert isinstance(cancelled, ReplaceJob)
    assert (kept.retire, kept.retire_request) == (Retire.KEEP, None)
    assert "the old job keeps running (pass --cancel-replaced to cancel it)" in kept.reasons[0]
    assert cancelled.retire is Retire.CANCEL
    assert cancelled.retire_request == JobPatch.from_wire({"state": "Cancelled"})


def test_planner_only_records_cosmetic_change_of_finished_job() -> None:
    plan = plan_for(
        make_desired({"site-a": make_job_spec(name="Site A (north)")}),
        _state(make_record("jobs.site-a", "job-a", make_job_spec(), state="success")),
    )
    record = action(plan, "jobs.site-a")
    assert isinstance(record, Record)
    assert record.request is None and record.cost is None
    assert record.after is not None and record.after["name"] == "Site A (north)"
    assert record.reasons == (
        "only name (cosmetic) changed and job job-a is already submitted (success):"
        " recorded in state, no API call; the job is not re-run",
    )


def test_planner_only_records_input_description_and_estimate_change_of_submitted_job() -> None:
    new = make_job_spec(
        inputs=[{"id": "photos-a", "description": "north drone photos"}],
        costEstimationParameters={"gigaPixels": 9.0, "megaPoints": 10.0},
    )
    plan = plan_for(
        make_desired({"site-a": new}),
        _state(make_record("jobs.site-a", "job-a", make_job_spec(), state="active")),
    )
    record = action(plan, "jobs.site-a")
    assert isinstance(record, Record)
    assert {c.path: c.field_class for c in record.diff} == {
        "costEstimationParameters.gigaPixels": FieldClass.ESTIMATE,
        "inputs[0].description": FieldClass.COSMETIC,
    }


def test_planner_submits_unsubmitted_job_when_manifest_now_says_submit() -> None:
    plan = plan_for(
        make_desired({"site-a": make_job_spec(submit=True)}),
        _state(make_record("jobs.site-a", "job-a", make_job_spec(submit=False))),
    )
    submit = action(plan, "jobs.site-a")
    assert isinstance(submit, SubmitJob)
    assert submit.request == JobPatch.from_wire({"state": "Active"})
    assert [c.path for c in submit.diff] == ["submit"]
    assert submit.reasons == (
        "job job-a is unsubmitted and the manifest says submit = true: it is submitted",
    )


def test_planner_submits_unchanged_job_left_unsubmitted_by_an_interrupted_apply() -> None:
    spec = make_job_spec()
    plan = plan_for(make_desired({"site-a": spec}), _state(make_record("jobs.site-a", "j", spec)))
    assert isinstance(action(plan, "jobs.site-a"), SubmitJob)


def test_planner_records_change_of_rmapply_fields_of_unsubmitted_job() -> None:
    plan = plan_for(
        make_desired({"site-a": make_job_spec(submit=False, retryFailed=True)}),
        _state(make_record("jobs.site-a", "job-a", make_job_spec(submit=False))),
    )
    record = action(plan, "jobs.site-a")
    assert isinstance(record, Record)
    assert record.reasons == (
        "only rmapply's own fields changed (retryFailed): recorded in state, no API call",
    )


def test_planner_deletes_unsubmitted_job_removed_from_manifests() -> None:
    plan = plan_for(make_desired(), _state(make_record("jobs.old", "job-o", make_job_spec())))
    delete = action(plan, "jobs.old")
    assert isinstance(delete, DeleteJob)
    assert (delete.remote_id, delete.request) == ("job-o", None)
    assert delete.reasons == (
        "jobs.old is no longer in the manifests and job job-o is unsubmitted: it is deleted"
        " (nothing was spent)",
    )


def test_planner_only_forgets_finished_job_removed_from_manifests() -> None:
    plan = plan_for(
        make_desired(), _state(make_record("jobs.old", "job-o", make_job_spec(), state="success"))
    )
    forget = action(plan, "jobs.old")
    assert isinstance(forget, Forget)
    assert forget.request is None
    assert forget.reasons == (
        "jobs.old is no longer in the manifests and job job-o is already submitted (success):"
        " it is forgotten, no API call; its outputs stay",
    )


def test_planner_cancels_active_removed_job_only_when_configured() -> None:
    state = _state(make_record("jobs.old", "job-o", make_job_spec(), state="active"))
    default = action(plan_for(make_desired(), state), "jobs.old")
    cancelling = action(plan_for(make_desired(), state, cancel_removed=True), "jobs.old")
    assert isinstance(default, Forget) and default.request is None
    assert "it keeps running" in default.reasons[0]
    assert isinstance(cancelling, Forget)
    assert cancelling.request == JobPatch.from_wire({"state": "Cancelled"})


def test_planner_forgets_removed_job_of_unknown_state_with_a_warning() -> None:
    state = _state(make_record("jobs.old", "job-o", make_job_spec(), remote=None))
    plan = plan_for(make_desired(), state)
    assert isinstance(action(plan, "jobs.old"), Forget)
    assert plan.warnings == (
        "jobs.old: the state of job job-o is unknown; it is forgotten, not deleted",
    )


def test_planner_treats_job_of_unknown_state_as_submitted() -> None:
    state = _state(make_record("jobs.site-a", "job-a", make_job_spec(), remote=None))
    plan = plan_for(make_desired({"site-a": make_job_spec(name="New name")}), state)
    assert isinstance(action(plan, "jobs.site-a"), Record)
    assert plan.warnings == (
        "jobs.site-a: the state of job job-a is unknown; it is treated as submitted (plan with"
        " refresh to know more)",
    )


def test_planner_replaces_submitted_job_when_its_workspace_changes() -> None:
    other = make_record("workspaces.other", "ws-2", make_workspace_spec(name="Other"))
    desired = make_desired(
        {"site-a": make_job_spec(workspace="other")},
        {"main": make_workspace_spec(), "other": make_workspace_spec(name="Other")},
    )
    state = _state(other, make_record("jobs.site-a", "job-a", make_job_spec(), state="success"))
    replace = action(plan_for(desired, state), "jobs.site-a")
    assert isinstance(replace, ReplaceJob)
    assert replace.request.workspace_id == "ws-2"
    assert [(c.path, c.before, c.after, c.field_class) for c in replace.diff] == [
        ("workspace", "main", "other", FieldClass.RECONCILER),
        ("workspaceId", "ws-1", "ws-2", FieldClass.RERUN),
    ]


def test_planner_only_records_a_workspace_named_by_its_id_instead_of_its_key() -> None:
    desired = make_desired({"site-a": make_job_spec(workspace=None, workspaceId="ws-1")})
    state = _state(make_record("jobs.site-a", "job-a", make_job_spec(), state="success"))
    record = action(plan_for(desired, state), "jobs.site-a")
    assert isinstance(record, Record)
    assert {c.path for c in record.diff} == {"workspace", "workspaceId"}


def test_planner_rejects_jobs_with_unresolvable_references_all_at_once() -> None:
    desired = make_desired(
        {
            "a": make_job_spec(workspace=None),
            "b": make_job_spec(workspace="nowhere", dependsOn=["jobs.missing"]),
        }
    )
    with pytest.raises(PlanError) as caught:
        plan_for(desired)
    assert caught.value.message == (
        "3 unresolved reference(s):\n"
        "manifests/jobs/a.toml:1: jobs.a: names no workspace or workspaceId\n"
        "manifests/jobs/b.toml:1: jobs.b: needs jobs.missing, which is not in the manifests\n"
        "manifests/jobs/b.toml:1: jobs.b: needs workspaces.nowhere, which is not in the manifests"
    )
    assert caught.value.hint == "add the missing resources to the manifests or fix the names"
