"""Pipelines in the planner: a job taking another job's outputs (``jobs.KEY.outputs.FORMAT``)
or cache is created once the ids are known, submitted once its upstream jobs succeeded, blocked
by a failed one, and re-created when an upstream job is re-run (the cascade)."""

from __future__ import annotations

from typing import Any

import pytest

from rmapply.errors import ApplyError, PlanError
from rmapply.model import Address
from rmapply.plan import KNOWN_AFTER_APPLY, CreateJob, ReplaceJob, SubmitJob
from rmapply.plan.actions import InputRef, ReasonCode, Retire
from rmapply.state import ResourceRecord
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job_spec,
    make_record,
    make_state,
)
from tests.plan.planning import action, kinds, plan_for

ORIENTATIONS = "calib-1-orientations"
CALIB = make_job_spec(
    type="Calibration", name="Calib", settings={"quality": "Medium", "outputs": ["CCOrientations"]}
)
RECON = make_job_spec(
    type="Reconstruction",
    name="Recon",
    inputs=[{"id": "photos-a"}, {"id": "jobs.calib.outputs.CCOrientations"}],
    settings={"quality": "Medium", "outputs": ["Cesium 3D Tiles"]},
)
PIPELINE = make_desired({"calib": CALIB, "recon": RECON})


def calib_record(state: str, remote_id: str = "calib-1") -> ResourceRecord:
    """The calibration job as apply recorded it, with its orientations output id."""
    record = make_record("jobs.calib", remote_id, CALIB, state=state)
    return record.model_copy(update={"outputs": {"CCOrientations": ORIENTATIONS}})


def recon_record(state: str, orientations: str = ORIENTATIONS) -> ResourceRecord:
    """The reconstruction job as created from ``orientations`` (the id it was sent)."""
    record = make_record("jobs.recon", "recon-1", RECON, state=state)
    remote: dict[str, Any] = dict(record.remote or {})
    remote["inputs"] = [{"id": "photos-a"}, {"id": orientations}]
    return record.model_copy(update={"remote": remote})


def test_a_new_pipeline_creates_the_upstream_first_and_fills_the_input_after_apply() -> None:
    plan = plan_for(PIPELINE, make_state(main_workspace_record()))
    recon = action(plan, "jobs.recon")
    assert isinstance(recon, CreateJob)
    assert recon.request.inputs[1].id == (
        f"{KNOWN_AFTER_APPLY} from jobs.calib.outputs.CCOrientations"
    )
    assert recon.input_refs == (
        InputRef(index=1, address=Address.job("calib"), format="CCOrientations"),
    )
    assert [u.describe() for u in recon.waiting_for] == ["jobs.calib (new)"]
    assert "submitted once its inputs are ready (waits for jobs.calib (new))" in recon.reasons[0]
    addresses = [str(a.address) for a in plan.actions]
    assert addresses.index("jobs.calib") < addresses.index("jobs.recon")
    body = recon.request_body(
        {Address.workspace("main"): "ws-1"}, {Address.job("calib"): {"CCOrientations": "o-9"}}
    )
    assert [i.id for i in body.inputs] == ["photos-a", "o-9"]


def test_an_upstream_output_recorded_in_state_is_written_literally() -> None:
    plan = plan_for(PIPELINE, make_state(main_workspace_record(), calib_record("active")))
    recon = action(plan, "jobs.recon")
    assert isinstance(recon, CreateJob)
    assert recon.request.inputs[1].id == ORIENTATIONS
    assert recon.input_refs == ()
    assert recon.reason_code is ReasonCode.NEW
    assert [u.describe() for u in recon.waiting_for] == ["jobs.calib (active)"]


def test_a_submit_waiting_for_a_running_upstream_is_nothing_to_do_now() -> None:
    state = make_state(main_workspace_record(), calib_record("active"), recon_record("unsubmitted"))
    plan = plan_for(PIPELINE, state)
    submit = action(plan, "jobs.recon")
    assert isinstance(submit, SubmitJob)
    assert submit.reason_code is ReasonCode.WAITING_FOR_INPUTS
    assert "waits for jobs.calib (active)" in submit.reasons[0]
    assert plan.summary.waiting == 1
    assert not plan.anything_to_apply


def test_a_submit_whose_inputs_are_ready_is_a_change() -> None:
    state = make_state(
        main_workspace_record(), calib_record("success"), recon_record("unsubmitted")
    )
    plan = plan_for(PIPELINE, state)
    submit = action(plan, "jobs.recon")
    assert isinstance(submit, SubmitJob)
    assert submit.reason_code is ReasonCode.SUBMIT_REQUESTED
    assert submit.waiting_for == ()
    assert plan.anything_to_apply


@pytest.mark.parametrize("failed", ["failed", "cancelled"])
def test_a_failed_upstream_blocks_the_submit_and_says_why(failed: str) -> None:
    state = make_state(main_workspace_record(), calib_record(failed), recon_record("unsubmitted"))
    plan = plan_for(PIPELINE, state)
    submit = action(plan, "jobs.recon")
    assert isinstance(submit, SubmitJob)
    assert submit.reason_code is ReasonCode.UPSTREAM_FAILED
    assert f"blocked, jobs.calib {failed}" in submit.reasons[0]
    assert kinds(plan)["jobs.calib"] == "noop"


def test_retry_failed_upstream_re_runs_it_and_the_waiting_downstream_follows() -> None:
    desired = make_desired(
        {"calib": CALIB.model_copy(update={"retry_failed": True}), "recon": RECON}
    )
    state = make_state(main_workspace_record(), calib_record("failed"), recon_record("unsubmitted"))
    plan = plan_for(desired, state)
    calib, recon = action(plan, "jobs.calib"), action(plan, "jobs.recon")
    assert isinstance(calib, ReplaceJob)
    assert calib.reason_code is ReasonCode.RETRY_FAILED
    assert isinstance(recon, ReplaceJob)
    assert recon.reason_code is ReasonCode.UPSTREAM_REPLACED
    assert recon.retire is Retire.DELETE  # unsubmitted: nothing was spent
    assert recon.reasons[0].startswith("jobs.calib is run again, so inputs[1].id changes")
    assert recon.request.inputs[1].id.startswith(KNOWN_AFTER_APPLY)


def test_replace_of_the_head_cascades_to_a_finished_downstream_and_costs_both() -> None:
    state = make_state(main_workspace_record(), calib_record("success"), recon_record("success"))
    plan = plan_for(PIPELINE, state, replace=("jobs.calib",))
    recon = action(plan, "jobs.recon")
    assert isinstance(recon, ReplaceJob)
    assert recon.reason_code is ReasonCode.UPSTREAM_REPLACED
    assert recon.retire is Retire.KEEP
    assert [c.path for c in recon.diff] == ["inputs[1].id"]
    assert recon.cost is not None
    assert plan.summary.cost.jobs == 2


def test_a_cosmetic_upstream_change_cascades_nothing() -> None:
    desired = make_desired({"calib": CALIB.model_copy(update={"name": "Renamed"}), "recon": RECON})
    state = make_state(main_workspace_record(), calib_record("success"), recon_record("success"))
    plan = plan_for(desired, state)
    assert kinds(plan) == {"workspaces.main": "noop", "jobs.calib": "record", "jobs.recon": "noop"}


def test_a_re_created_cache_job_cascades_to_the_job_using_its_cache() -> None:
    maker = make_job_spec(
        name="Maker",
        settings={"quality": "Medium", "outputs": ["OBJ"], "cacheSettings": {"createCache": True}},
    )
    user = make_job_spec(
        name="User",
        settings={
            "quality": "Medium",
            "outputs": ["OBJ"],
            "cacheSettings": {"useCache": "jobs.maker"},
        },
    )
    used = make_record("jobs.user", "user-1", user, state="success")
    remote = dict(used.remote or {})
    remote["settings"] = {"cacheSettings": {"useCache": "maker-1"}}
    state = make_state(
        main_workspace_record(),
        make_record("jobs.maker", "maker-1", maker, state="success"),
        used.model_copy(update={"remote": remote}),
    )
    plan = plan_for(make_desired({"maker": maker, "user": user}), state, replace=("jobs.maker",))
    replaced = action(plan, "jobs.user")
    assert isinstance(replaced, ReplaceJob)
    assert replaced.reason_code is ReasonCode.UPSTREAM_REPLACED
    assert replaced.cache_ref == Address.job("maker")


def test_a_placeholder_without_its_reference_is_refused() -> None:
    plan = plan_for(PIPELINE, make_state(main_workspace_record()))
    recon = action(plan, "jobs.recon")
    with pytest.raises(ValueError, match=r"inputs\[1\]\.id is .* but nothing fills it"):
        CreateJob.model_validate({**recon.model_dump(), "input_refs": ()})


def test_a_create_answer_without_the_needed_output_fails_naming_address_and_format() -> None:
    plan = plan_for(PIPELINE, make_state(main_workspace_record()))
    recon = action(plan, "jobs.recon")
    assert isinstance(recon, CreateJob)
    with pytest.raises(
        ApplyError, match=r"the create answer of jobs\.calib lists no output CCOrientations"
    ):
        recon.request_body(
            {Address.workspace("main"): "ws-1"}, {Address.job("calib"): {"OBJ": "x"}}
        )
    with pytest.raises(PlanError, match=r"the id of jobs\.calib is not known yet"):
        recon.request_body({Address.workspace("main"): "ws-1"}, {})
