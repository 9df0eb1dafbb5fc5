"""The executor over real HTTP against the emulator: order, records, failures, skips, budget."""

from __future__ import annotations

from rmapply.apply.events import ActionFailed, ActionFinished, ActionSkipped, BudgetHeld
from rmapply.apply.summary import OutcomeStatus
from rmapply.emulator import Emulator
from rmapply.state import LocalStateStore
from tests.apply.conftest import desired_state, job_spec, plan_for, run_apply


def test_apply_creates_and_submits_jobs_and_records_ids_and_outputs(
    emulator: Emulator, client, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("Job A"), "b": job_spec("Job B")})
    summary = run_apply(desired, store, client)
    assert summary.ok, summary.error()
    state = store.load()
    remote = {j.name: j for j in emulator.jobs()}
    assert set(remote) == {"Job A", "Job B"}
    for key, name in (("a", "Job A"), ("b", "Job B")):
        record = state.resources[f"jobs.{key}"]
        job = remote[name]
        assert record.remote_id == job.id
        assert record.outputs == job.output_ids()
        assert set(record.outputs) == {"OBJ", "Cesium 3D Tiles"}
        assert record.remote is not None and record.remote["state"] == "active"
        assert record.remote["executionInformation"]["submittedDateTime"]
        assert record.workspace_id == state.resources["workspaces.main"].remote_id
    assert state.pending == {}
    # the workspace first, each job's submit after its own create; the two jobs' steps run in
    # parallel, so job b's create may end after job a's submit
    done = [(o.address, o.action) for o in summary.outcomes]
    assert sorted(done) == sorted(
        [("workspaces.main", "create")]
        + [(f"jobs.{key}", action) for key in "ab" for action in ("create", "submit")]
    )
    assert done[0] == ("workspaces.main", "create")
    for key in "ab":
        assert done.index((f"jobs.{key}", "create")) < done.index((f"jobs.{key}", "submit"))


def test_apply_does_not_submit_a_job_whose_manifest_says_submit_false(
    emulator: Emulator, client, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("Job A", submit=False)})
    assert run_apply(desired, store, client).ok
    assert [j.state.value for j in emulator.jobs()] == ["unsubmitted"]
    assert emulator.request_count("PATCH") == 0


def test_one_invalid_job_fails_with_the_api_code_and_the_others_are_applied(
    emulator: Emulator, client, store: LocalStateStore, itwin_id: str
) -> None:
    jobs = {
        "good1": job_spec("Good 1"),
        "bad": job_spec("Bad", engines=99),
        "good2": job_spec("Good 2"),
    }
    events: list = []
    summary = run_apply(desired_state(itwin_id, jobs), store, client, events=events)
    assert not summary.ok
    failed = summary.with_status(OutcomeStatus.FAILED)
    assert [(o.address, o.action, o.code) for o in failed] == [
        ("jobs.bad", "create", "InvalidContextCaptureRequest")
    ]
    assert "processingEngines" in failed[0].message
    skipped = summary.with_status(OutcomeStatus.SKIPPED)
    assert [(o.address, o.action, o.message) for o in skipped] == [
        ("jobs.bad", "submit", "jobs.bad did not succeed")
    ]
    assert sorted(j.name for j in emulator.jobs()) == ["Good 1", "Good 2"]
    assert sorted(store.load().resources) == ["jobs.good1", "jobs.good2", "workspaces.main"]
    assert any(isinstance(e, ActionFailed) and e.address == "jobs.bad" for e in events)
    error = summary.error()
    assert error is not None and error.exit_code == 1
    assert error.message.splitlines()[0] == "apply finished with problems: 1 failed, 1 skipped"


def test_jobs_that_depend_on_a_failed_job_are_skipped(
    emulator: Emulator, client, store: LocalStateStore, itwin_id: str
) -> None:
    jobs = {
        "calib": job_spec("Calibration", engines=99),
        "recon": job_spec("Reconstruction", depends_on=["jobs.calib"]),
        "free": job_spec("Independent"),
    }
    events: list = []
    summary = run_apply(desired_state(itwin_id, jobs), store, client, events=events)
    skipped = {(o.address, o.action): o.message for o in summary.with_status(OutcomeStatus.SKIPPED)}
    assert skipped[("jobs.recon", "create")] == "depends on jobs.calib, whose create failed"
    assert [j.name for j in emulator.jobs()] == ["Independent"]
    assert any(isinstance(e, ActionSkipped) and e.address == "jobs.recon" for e in events)


def test_a_failed_workspace_skips_its_jobs(
    emulator_factory, token, tmp_path, itwin_id: str
) -> None:
    other = emulator_factory(itwins=(itwin_id,))
    from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken

    store = LocalStateStore(tmp_path / "s.json")
    with RealityModelingClient(other.base_url, StaticToken(token), retry=RetryPolicy.fast()) as c:
        summary = run_apply(
            desired_state("0" * 8 + "-0000-0000-0000-" + "0" * 12, {"a": job_spec("A")}), store, c
        )
    statuses = {(o.address, o.action): o.status for o in summary.outcomes}
    assert statuses[("workspaces.main", "create")] is OutcomeStatus.FAILED
    assert statuses[("jobs.a", "create")] is OutcomeStatus.SKIPPED
    assert other.jobs() == []


def test_budget_over_the_limit_creates_but_submits_nothing_and_says_which(
    emulator: Emulator, client, store: LocalStateStore, itwin_id: str
) -> None:
    jobs = {"a": job_spec("A", giga_pixels=3.0), "b": job_spec("B", giga_pixels=4.0)}
    events: list = []
    summary = run_apply(desired_state(itwin_id, jobs), store, client, events=events, max_cost=5.0)
    assert [j.state.value for j in emulator.jobs()] == ["unsubmitted", "unsubmitted"]
    assert emulator.request_count("PATCH") == 0
    held = summary.with_status(OutcomeStatus.HELD)
    assert [o.address for o in held] == ["jobs.a", "jobs.b"]
    budget = [e for e in events if isinstance(e, BudgetHeld)]
    assert len(budget) == 1 and budget[0].addresses == ("jobs.a", "jobs.b")
    costs = sorted(j.estimated_cost or 0 for j in emulator.jobs())
    assert budget[0].total == sum(costs)
    assert summary.budget_message.startswith(f"submitting 2 job(s) would cost {sum(costs):g}")
    assert summary.error() is not None
    # the created jobs are recorded with the service's estimate
    assert store.load().resources["jobs.a"].remote["estimatedCost"] == costs[0]


def test_budget_that_fits_submits_everything(
    emulator: Emulator, client, store: LocalStateStore, itwin_id: str
) -> None:
    jobs = {"a": job_spec("A", giga_pixels=1.0), "b": job_spec("B", giga_pixels=1.0)}
    summary = run_apply(desired_state(itwin_id, jobs), store, client, max_cost=100.0)
    assert summary.ok
    assert [j.state.value for j in emulator.jobs()] == ["active", "active"]


def test_a_second_apply_of_the_same_manifests_changes_nothing(
    emulator: Emulator, client, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("A")})
    assert run_apply(desired, store, client).ok
    before = emulator.request_count()
    plan = plan_for(desired, store)
    assert not plan.anything_to_apply
    summary = run_apply(desired, store, client, plan=plan)
    assert summary.outcomes == ()
    assert emulator.request_count() == before


def test_finished_events_carry_ids_costs_and_outputs(
    emulator: Emulator, client, store: LocalStateStore, itwin_id: str
) -> None:
    events: list = []
    run_apply(
        desired_state(itwin_id, {"a": job_spec("A", giga_pixels=2.0)}), store, client, events=events
    )
    created = next(e for e in events if isinstance(e, ActionFinished) and e.address == "jobs.a")
    job = emulator.jobs()[0]
    assert created.remote_id == job.id
    assert created.estimated_cost == job.estimated_cost
    assert dict(created.outputs) == job.output_ids()
