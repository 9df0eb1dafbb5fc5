"""How the planner treats a workspace (the API cannot update one) and the jobs inside it."""

from __future__ import annotations

from rmapply.model import FieldClass
from rmapply.plan import (
    KNOWN_AFTER_APPLY,
    ActionType,
    CreateJob,
    CreateWorkspace,
    DeleteWorkspace,
    Forget,
    NoOp,
    Record,
    RemoteView,
    ReplaceJob,
    ReplaceWorkspace,
)
from rmapply.wire import WorkspaceCreation
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job,
    make_job_spec,
    make_record,
    make_state,
    make_workspace_spec,
)
from tests.plan.planning import action, kinds, plan_for


def test_planner_creates_workspace_with_the_project_itwin_before_its_jobs() -> None:
    plan = plan_for(make_desired({"site-a": make_job_spec()}))
    assert [str(a.address) for a in plan.actions] == ["workspaces.main", "jobs.site-a"]
    create = action(plan, "workspaces.main")
    assert isinstance(create, CreateWorkspace)
    assert create.request == WorkspaceCreation.from_wire({"name": "Main", "iTwinId": "itwin-0001"})
    assert create.after == {"name": "Main", "iTwinId": "itwin-0001"}


def test_planner_records_workspace_rename_without_api_call() -> None:
    plan = plan_for(
        make_desired(workspaces={"main": make_workspace_spec(name="Main site")}),
        make_state(main_workspace_record()),
    )
    record = action(plan, "workspaces.main")
    assert isinstance(record, Record)
    assert [(c.path, c.field_class) for c in record.diff] == [("name", FieldClass.COSMETIC)]
    assert record.reasons == (
        "only the name changed and a workspace has no update endpoint: the state records the new"
        " name, no API call",
    )


def test_planner_replaces_workspace_when_its_version_changes_and_replaces_its_jobs() -> None:
    spec = make_job_spec()
    plan = plan_for(
        make_desired({"site-a": spec}, {"main": make_workspace_spec(contextCaptureVersion="24.1")}),
        make_state(
            main_workspace_record(),
            make_record("jobs.site-a", "job-a", spec, state="success"),
        ),
    )
    assert kinds(plan) == {"workspaces.main": "replace", "jobs.site-a": "replace"}
    workspace = action(plan, "workspaces.main")
    job = action(plan, "jobs.site-a")
    assert isinstance(workspace, ReplaceWorkspace) and workspace.old_remote_id == "ws-1"
    assert isinstance(job, ReplaceJob)
    assert job.request.workspace_id == KNOWN_AFTER_APPLY
    assert [(c.path, c.before, c.after) for c in job.diff] == [
        ("workspaceId", "ws-1", KNOWN_AFTER_APPLY)
    ]


def test_planner_moves_every_workspace_to_a_new_project_itwin() -> None:
    plan = plan_for(make_desired(itwin_id="itwin-0002"), make_state(main_workspace_record()))
    replace = action(plan, "workspaces.main")
    assert isinstance(replace, ReplaceWorkspace)
    assert replace.request.i_twin_id == "itwin-0002"


def test_planner_deletes_removed_workspace_after_forgetting_its_jobs() -> None:
    plan = plan_for(
        make_desired(workspaces={}),
        make_state(
            main_workspace_record(),
            make_record("jobs.old", "job-o", make_job_spec(), state="success"),
        ),
    )
    assert [(str(a.address), a.action) for a in plan.actions] == [
        ("jobs.old", ActionType.FORGET),
        ("workspaces.main", ActionType.DELETE),
    ]
    delete = action(plan, "workspaces.main")
    assert isinstance(delete, DeleteWorkspace) and delete.remote_id == "ws-1"


def test_planner_keeps_removed_workspace_that_a_job_in_state_still_uses() -> None:
    desired = make_desired(
        {"site-a": make_job_spec(workspace=None, workspaceId="ws-1")}, workspaces={}
    )
    state = make_state(
        main_workspace_record(),
        make_record("jobs.site-a", "job-a", make_job_spec(workspace=None, workspaceId="ws-1")),
    )
    plan = plan_for(desired, state)
    assert isinstance(action(plan, "workspaces.main"), NoOp)
    assert plan.warnings == (
        "workspaces.main is no longer in the manifests but jobs.site-a still use it: it is kept",
    )


def test_planner_recreates_workspace_gone_remotely_without_rerunning_its_jobs() -> None:
    spec = make_job_spec()
    remote = RemoteView(
        jobs={"job-a": make_job("job-a", spec, state="success")}, gone=frozenset({"ws-1"})
    )
    plan = plan_for(
        make_desired({"site-a": spec}),
        make_state(
            main_workspace_record(), make_record("jobs.site-a", "job-a", spec, state="success")
        ),
        remote,
    )
    create = action(plan, "workspaces.main")
    assert isinstance(create, CreateWorkspace) and create.previous_id == "ws-1"
    assert isinstance(action(plan, "jobs.site-a"), NoOp)


def test_planner_creates_job_again_in_workspace_recreated_after_404() -> None:
    remote = RemoteView(gone=frozenset({"ws-1", "job-a"}))
    spec = make_job_spec()
    plan = plan_for(
        make_desired({"site-a": spec}),
        make_state(main_workspace_record(), make_record("jobs.site-a", "job-a", spec)),
        remote,
    )
    job = action(plan, "jobs.site-a")
    assert isinstance(job, CreateJob)
    assert (job.previous_id, job.request.workspace_id) == ("job-a", KNOWN_AFTER_APPLY)


def test_planner_forgets_removed_workspace_gone_remotely() -> None:
    plan = plan_for(
        make_desired(workspaces={}),
        make_state(main_workspace_record()),
        RemoteView(gone=frozenset({"ws-1"})),
    )
    forget = action(plan, "workspaces.main")
    assert isinstance(forget, Forget) and forget.kind == "workspace"
