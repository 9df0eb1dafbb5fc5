"""The spec a record keeps is rebuilt from the body sent: equal to the planned spec when the body
is the planned one, showing the difference in the next plan when it is not. Plain values."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from rmapply.apply.sent_spec import (
    job_spec_as_patched,
    job_spec_as_sent,
    spec_digest,
    workspace_spec_as_sent,
)
from rmapply.model import digest
from rmapply.plan import (
    CreateJob,
    CreateWorkspace,
    NoOp,
    RemoteView,
    ReplaceJob,
    ReplaceWorkspace,
    UpdateJob,
)
from rmapply.state import ResourceRecord, StateDocument
from rmapply.wire import JobPatch
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job_spec,
    make_record,
    make_state,
)
from tests.plan.planning import action, plan_for
from tests.plan.test_planner_properties import scenarios

CACHE_MAKER = {"quality": "Medium", "outputs": ["OBJ"], "cacheSettings": {"createCache": True}}
CACHE_USER = {"quality": "Medium", "outputs": ["OBJ"], "cacheSettings": {"useCache": "jobs.maker"}}


def _filled(job: CreateJob | ReplaceJob) -> dict[Any, str]:
    refs = [r for r in (job.workspace_ref, job.cache_ref) if r is not None]
    return {r: f"id-of-{r}" for r in refs}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_body_a_plan_shows_is_recorded_as_exactly_the_planned_spec_and_digest(
    scenario: tuple[Any, StateDocument, RemoteView | None],
) -> None:
    desired, state, remote = scenario
    for planned in plan_for(desired, state, remote).actions:
        if isinstance(planned, CreateJob | ReplaceJob):
            spec = job_spec_as_sent(planned.after or {}, planned.request_body(_filled(planned)))
        elif isinstance(planned, UpdateJob):
            spec = job_spec_as_patched(planned.after or {}, planned.request)
        elif isinstance(planned, CreateWorkspace | ReplaceWorkspace):
            spec = workspace_spec_as_sent(planned.after or {}, planned.request)
        else:
            continue
        assert spec == planned.after
        assert spec_digest(spec) == planned.after_digest == digest(planned.after)


def test_a_cache_and_a_workspace_named_by_address_stay_addresses_in_the_recorded_spec() -> None:
    desired = make_desired(
        {"maker": make_job_spec(settings=CACHE_MAKER), "user": make_job_spec(settings=CACHE_USER)}
    )
    user = action(plan_for(desired), "jobs.user")
    assert isinstance(user, CreateJob)
    body = user.request_body(_filled(user))
    assert body.workspace_id == "id-of-workspaces.main"
    assert body.settings.cache_settings is not None
    assert body.settings.cache_settings.use_cache == "id-of-jobs.maker"
    spec = job_spec_as_sent(user.after or {}, body)
    assert spec["workspace"] == "main" and "workspaceId" not in spec
    assert spec["settings"]["cacheSettings"] == {"useCache": "jobs.maker"}


def test_a_literal_workspace_id_is_recorded_as_sent() -> None:
    planned = make_job_spec(workspace=None, workspaceId="ws-7").to_wire()
    body = make_job_spec(workspace=None).to_creation("ws-8")
    assert job_spec_as_sent(planned, body)["workspaceId"] == "ws-8"


def _recorded(spec: dict[str, Any]) -> ResourceRecord:
    """The record apply leaves for jobs.a with ``spec`` (and its digest)."""
    record = make_record("jobs.a", "job-a", make_job_spec(), state="success")
    return record.model_copy(update={"spec": spec, "digest": spec_digest(spec)})


def test_a_body_that_differs_from_the_plan_shows_as_a_change_in_the_next_plan() -> None:
    planned_spec = make_job_spec()
    desired = make_desired({"a": planned_spec})
    create = action(plan_for(desired, make_state(main_workspace_record())), "jobs.a")
    assert isinstance(create, CreateJob)
    # what the service was given differs from the plan (quality, and one output less)
    sent = make_job_spec(settings={"quality": "Extra", "outputs": ["OBJ"]}).to_creation("ws-1")
    spec = job_spec_as_sent(create.after or {}, sent)
    assert spec["settings"]["quality"] == "Extra"
    assert spec_digest(spec) != create.after_digest
    state = make_state(main_workspace_record(), _recorded(spec))
    following = action(plan_for(desired, state), "jobs.a")
    assert not isinstance(following, NoOp)
    assert [(c.path, c.before, c.after) for c in following.diff] == [
        ("settings.quality", "Extra", "Medium")
    ]
    # the body as planned is recorded as planned: the next plan has nothing to do
    same = job_spec_as_sent(create.after or {}, create.request)
    state = make_state(main_workspace_record(), _recorded(same))
    assert isinstance(action(plan_for(desired, state), "jobs.a"), NoOp)


def test_a_patch_records_the_fields_it_set_from_its_body() -> None:
    planned = make_job_spec(settings={"quality": "Draft", "outputs": ["OBJ"]}).to_wire()
    body = JobPatch.from_wire({"settings": {"quality": "Extra", "outputs": ["OBJ", "3MX"]}})
    patched = job_spec_as_patched(planned, body)
    assert patched["settings"] == {"quality": "Extra", "outputs": ["OBJ", "3MX"]}
    assert {k: v for k, v in patched.items() if k != "settings"} == {
        k: v for k, v in planned.items() if k != "settings"
    }
