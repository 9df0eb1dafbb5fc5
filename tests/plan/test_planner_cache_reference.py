"""``useCache = "jobs.KEY"``: a job reuses the cache of another job of the manifests."""

from __future__ import annotations

from rmapply.model import Address
from rmapply.plan import KNOWN_AFTER_APPLY, CreateJob, UpdateJob
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job_spec,
    make_record,
    make_state,
)
from tests.plan.planning import action, plan_for

CACHE_MAKER = {"quality": "Medium", "outputs": ["OBJ"], "cacheSettings": {"createCache": True}}
CACHE_USER = {"quality": "Medium", "outputs": ["OBJ"], "cacheSettings": {"useCache": "jobs.maker"}}


def test_planner_resolves_cache_of_job_created_in_same_plan_after_apply() -> None:
    desired = make_desired(
        {"maker": make_job_spec(settings=CACHE_MAKER), "user": make_job_spec(settings=CACHE_USER)}
    )
    plan = plan_for(desired, make_state(main_workspace_record()))
    user = action(plan, "jobs.user")
    assert isinstance(user, CreateJob)
    assert user.cache_ref == Address.job("maker")
    assert user.request.settings.cache_settings is not None
    assert user.request.settings.cache_settings.use_cache == KNOWN_AFTER_APPLY
    body = user.request_body({Address.workspace("main"): "ws-1", Address.job("maker"): "job-9"})
    assert body.settings.cache_settings is not None
    assert body.settings.cache_settings.use_cache == "job-9"
    addresses = [str(a.address) for a in plan.actions]
    assert addresses.index("jobs.maker") < addresses.index("jobs.user")


def test_planner_uses_id_of_existing_cache_job_literally() -> None:
    maker = make_job_spec(settings=CACHE_MAKER)
    record = make_record("jobs.maker", "job-7", maker, state="success")
    desired = make_desired({"maker": maker, "user": make_job_spec(settings=CACHE_USER)})
    plan = plan_for(desired, make_state(main_workspace_record(), record))
    user = action(plan, "jobs.user")
    assert isinstance(user, CreateJob)
    assert user.cache_ref is None
    assert user.request.settings.cache_settings is not None
    assert user.request.settings.cache_settings.use_cache == "job-7"


def test_planner_patches_unsubmitted_job_with_literal_cache_id() -> None:
    maker = make_job_spec(settings=CACHE_MAKER)
    old_user = make_job_spec(settings={"quality": "Draft", "outputs": ["OBJ"]}, submit=False)
    new_user = make_job_spec(settings=CACHE_USER, submit=False)
    state = make_state(
        main_workspace_record(),
        make_record("jobs.maker", "job-7", maker, state="success"),
        make_record("jobs.user", "job-8", old_user),
    )
    plan = plan_for(make_desired({"maker": maker, "user": new_user}), state)
    update = action(plan, "jobs.user")
    assert isinstance(update, UpdateJob)
    assert update.request.settings is not None
    assert update.request.settings.cache_settings is not None
    assert update.request.settings.cache_settings.use_cache == "job-7"


def test_planner_points_at_new_cache_when_cache_job_is_replaced() -> None:
    old_maker = make_job_spec(settings=CACHE_MAKER)
    new_maker = make_job_spec(settings=CACHE_MAKER, inputs=[{"id": "photos-b"}])
    state = make_state(
        main_workspace_record(), make_record("jobs.maker", "job-7", old_maker, state="success")
    )
    plan = plan_for(
        make_desired({"maker": new_maker, "user": make_job_spec(settings=CACHE_USER)}), state
    )
    assert action(plan, "jobs.maker").action.value == "replace"
    user = action(plan, "jobs.user")
    assert isinstance(user, CreateJob)
    assert user.cache_ref == Address.job("maker")
    assert user.request.settings.cache_settings is not None
    assert user.request.settings.cache_settings.use_cache == KNOWN_AFTER_APPLY
