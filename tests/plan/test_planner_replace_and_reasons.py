"""``--replace ADDRESS`` runs an unchanged job again; every action says why in a reasonCode."""

from __future__ import annotations

import pytest

from rmapply.errors import PlanError
from rmapply.plan import ReasonCode, RemoteView, ReplaceJob, Retire
from rmapply.wire import JobPatch
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job_spec,
    make_record,
    make_state,
)
from tests.plan.planning import action, plan_for


def _one_job(state: str):  # type: ignore[no-untyped-def]
    record = make_record("jobs.site-a", "job-a", make_job_spec(), state=state)
    return make_desired({"site-a": make_job_spec()}), make_state(main_workspace_record(), record)


@pytest.mark.parametrize(
    ("state", "retire", "fate"),
    [
        ("success", Retire.KEEP, "the old job and its outputs stay; its id moves to history"),
        ("active", Retire.KEEP, "the old job keeps running (pass --cancel-replaced to cancel it)"),
        ("unsubmitted", Retire.DELETE, "the old job is deleted (nothing was spent)"),
    ],
)
def test_replace_runs_an_unchanged_job_again_with_the_retire_rules_of_a_replacement(
    state: str, retire: Retire, fate: str
) -> None:
    desired, records = _one_job(state)
    assert not isinstance(action(plan_for(desired, records), "jobs.site-a"), ReplaceJob)
    replaced = action(plan_for(desired, records, replace=("jobs.site-*",)), "jobs.site-a")
    assert isinstance(replaced, ReplaceJob)
    assert replaced.reason_code is ReasonCode.REPLACE_REQUESTED
    assert replaced.retire is retire
    assert replaced.old_remote_id == "job-a"
    assert replaced.reasons[0].startswith(f"--replace jobs.site-a: job job-a ({state}) is run")
    assert fate in replaced.reasons[0]


def test_replace_of_an_active_job_cancels_it_with_cancel_replaced() -> None:
    desired, records = _one_job("active")
    replaced = action(
        plan_for(desired, records, replace=("jobs.site-a",), cancel_replaced=True), "jobs.site-a"
    )
    assert isinstance(replaced, ReplaceJob)
    assert replaced.retire is Retire.CANCEL
    assert replaced.retire_request == JobPatch.from_wire({"state": "Cancelled"})


def test_replace_matching_nothing_is_an_error_with_a_did_you_mean() -> None:
    desired, records = _one_job("success")
    with pytest.raises(PlanError) as caught:
        plan_for(desired, records, replace=("jobs.site-b", "jobs.nowhere-*"))
    assert caught.value.message == (
        "--replace 'jobs.site-b', 'jobs.nowhere-*' matches no resource in the manifests or the"
        " state"
    )
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("did you mean 'jobs.site-a'?")


def test_replace_names_jobs_only() -> None:
    desired, records = _one_job("success")
    with pytest.raises(PlanError, match=r"--replace 'workspaces\.main' matches no resource"):
        plan_for(desired, records, replace=("workspaces.main",))


def test_replace_outside_the_targets_is_refused() -> None:
    desired = make_desired({"site-a": make_job_spec(), "site-b": make_job_spec()})
    with pytest.raises(PlanError, match=r"--replace jobs\.site-b: not among the resources"):
        plan_for(desired, targets=("jobs.site-a",), replace=("jobs.site-b",))


@pytest.mark.parametrize(
    ("state", "spec", "remote", "code"),
    [
        (None, {}, None, ReasonCode.NEW),
        ("success", {}, None, ReasonCode.UNCHANGED),
        ("success", {"name": "New name"}, None, ReasonCode.COSMETIC_CHANGE),
        ("success", {"settings": {"quality": "Draft", "outputs": ["OBJ"]}}, None,
         ReasonCode.RERUN_FIELD_CHANGED),
        ("unsubmitted", {"settings": {"quality": "Draft", "outputs": ["OBJ"]}}, None,
         ReasonCode.PATCHABLE_FIELD_CHANGED),
        ("unsubmitted", {}, None, ReasonCode.SUBMIT_REQUESTED),
        ("failed", {}, None, ReasonCode.FAILED_NOT_RETRIED),
        ("failed", {"retry_failed": True}, None, ReasonCode.RETRY_FAILED),
        ("success", {}, RemoteView(gone=frozenset({"job-a"})), ReasonCode.GONE_REMOTELY),
    ],
)  # fmt: skip
def test_each_job_decision_carries_its_reason_code(
    state: str | None, spec: dict[str, object], remote: RemoteView | None, code: ReasonCode
) -> None:
    records = [make_record("jobs.site-a", "job-a", make_job_spec(), state=state)] if state else []
    desired = make_desired({"site-a": make_job_spec(**spec)})
    plan = plan_for(desired, make_state(main_workspace_record(), *records), remote)
    assert action(plan, "jobs.site-a").reason_code is code


def test_a_job_that_left_the_manifests_is_removed_from_manifests() -> None:
    _, records = _one_job("unsubmitted")
    plan = plan_for(make_desired({}), records)
    assert action(plan, "jobs.site-a").reason_code is ReasonCode.REMOVED_FROM_MANIFESTS
