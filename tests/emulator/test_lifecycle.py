"""The job lifecycle on the simulated clock: submit, queue, run, end; cancel; failure; progress."""

from __future__ import annotations

from datetime import datetime

from rmapply.emulator import Emulator
from rmapply.emulator.lifecycle import BASE_RUN_SECONDS, QUEUE_SECONDS, run_seconds
from tests.emulator.conftest import Api

# The reference body asks for 2.5 gigapixels and 1.5 megapoints.
RUN = run_seconds(2.5, 1.5)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _progress(api: Api, job_id: str) -> dict[str, object]:
    answer = api.get(f"/jobs/{job_id}/progress")
    assert answer.status_code == 200
    progress: dict[str, object] = answer.json()["jobProgress"]
    return progress


def test_a_job_runs_from_submission_to_success_on_the_simulated_clock(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    assert _progress(api, job["id"]) == {"percentage": 0, "state": "Unsubmitted", "step": ""}

    submitted = api.submit(job["id"])
    assert submitted["state"] == "active"
    assert set(submitted["executionInformation"]) == {"submittedDateTime"}
    assert (
        submitted["lastModifiedDateTime"] == submitted["executionInformation"]["submittedDateTime"]
    )
    assert _progress(api, job["id"]) == {"percentage": 0, "state": "Active", "step": "PrepareStep"}

    frozen.advance(QUEUE_SECONDS)
    started = api.job(job["id"])
    assert started["state"] == "active"
    info = started["executionInformation"]
    assert (_dt(info["startedDateTime"]) - _dt(info["submittedDateTime"])).total_seconds() == 5
    assert "endedDateTime" not in info

    frozen.advance(RUN / 2)
    assert _progress(api, job["id"]) == {
        "percentage": 50,
        "state": "Active",
        "step": "Reconstruction",
    }
    frozen.advance(RUN * 0.4)
    assert _progress(api, job["id"])["step"] == "Production"

    frozen.advance(RUN)
    done = api.job(job["id"])
    assert done["state"] == "success"
    info = done["executionInformation"]
    assert (_dt(info["endedDateTime"]) - _dt(info["startedDateTime"])).total_seconds() == RUN
    assert info["estimatedUnits"] == done["estimatedCost"]
    assert "errors" not in info
    assert _progress(api, job["id"]) == {"percentage": 100, "state": "Over", "step": ""}
    assert done["jobSettings"]["outputs"] == job["jobSettings"]["outputs"]


def test_the_fixture_emulator_finishes_a_job_in_real_milliseconds(
    emulator: Emulator, api: Api, itwin_id: str
) -> None:
    job = api.create_job(api.workspace(itwin_id))
    api.submit(job["id"])
    emulator.advance(QUEUE_SECONDS + RUN)
    assert api.job(job["id"])["state"] == "success"


def test_run_time_is_sixty_seconds_plus_thirty_per_cost_unit() -> None:
    assert run_seconds(None, None) == BASE_RUN_SECONDS
    assert run_seconds(2.0, 10.0) == 60 + 90


def test_submit_accepts_the_state_in_any_case(frozen_api: Api, itwin_id: str) -> None:
    api = frozen_api
    workspace_id = api.workspace(itwin_id)
    for state in ("active", "ACTIVE", "Active"):
        job = api.create_job(workspace_id)
        answer = api.patch(f"/jobs/{job['id']}", json={"state": state})
        assert answer.status_code == 200
        assert answer.json()["job"]["state"] == "active"


def test_cancelling_an_active_job_ends_it_cancelled(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    api.submit(job["id"])
    frozen.advance(QUEUE_SECONDS + RUN / 4)
    answer = api.patch(f"/jobs/{job['id']}", json={"state": "cancelled"})
    assert answer.status_code == 200
    cancelled = answer.json()["job"]
    assert cancelled["state"] == "cancelled"
    assert "endedDateTime" in cancelled["executionInformation"]
    assert _progress(api, job["id"]) == {"percentage": 25, "state": "Over", "step": ""}
    frozen.advance(RUN)
    assert api.job(job["id"])["state"] == "cancelled"


def test_cancelling_a_queued_job_means_it_never_started(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    api.submit(job["id"])
    cancelled = api.patch(f"/jobs/{job['id']}", json={"state": "Cancelled"}).json()["job"]
    assert cancelled["state"] == "cancelled"
    assert "startedDateTime" not in cancelled["executionInformation"]
    assert cancelled["executionInformation"]["estimatedUnits"] == 0


def test_a_job_named_with_the_fail_marker_fails_halfway(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id), name="site A [fail]")
    api.submit(job["id"])
    frozen.advance(QUEUE_SECONDS + RUN / 2 - 1)
    assert api.job(job["id"])["state"] == "active"
    frozen.advance(1)
    failed = api.job(job["id"])
    assert failed["state"] == "failed"
    info = failed["executionInformation"]
    assert info["errors"] == [
        {
            "code": "JobFailed",
            "title": "Job failed",
            "message": "The job failed (emulator: its name contains '[fail]').",
            "params": [],
        }
    ]
    assert info["warnings"] == []
    assert info["estimatedUnits"] == round(failed["estimatedCost"] / 2, 2)
    assert _progress(api, job["id"]) == {"percentage": 50, "state": "Over", "step": ""}


def test_fail_job_makes_an_unsubmitted_job_fail_when_it_runs(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    frozen.fail_job(job["id"], message="Not enough tie points.")
    api.submit(job["id"])
    frozen.advance(QUEUE_SECONDS + RUN)
    failed = api.job(job["id"])
    assert failed["state"] == "failed"
    assert failed["executionInformation"]["errors"][0]["message"] == "Not enough tie points."


def test_fail_job_on_a_running_job_past_its_midpoint_fails_it_now(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    api.submit(job["id"])
    frozen.advance(QUEUE_SECONDS + RUN * 0.9)
    frozen.fail_job(job["id"], message="Disk full.")
    assert api.job(job["id"])["state"] == "failed"
    assert [j.state.value for j in frozen.jobs()] == ["failed"]


def test_calibration_jobs_report_a_calibration_step(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id), type="Calibration")
    api.submit(job["id"])
    frozen.advance(QUEUE_SECONDS + RUN / 2)
    assert _progress(api, job["id"])["step"] == "Calibration"


def test_in_process_records_show_the_current_state(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    workspace_id = api.workspace(itwin_id)
    job = api.create_job(workspace_id)
    api.submit(job["id"])
    frozen.advance(QUEUE_SECONDS + RUN)
    [record] = frozen.jobs()
    assert record.id == job["id"]
    assert record.state.value == "success"
    assert record.output_ids() == {o["format"]: o["id"] for o in job["jobSettings"]["outputs"]}
    assert [w.id for w in frozen.workspaces()] == [workspace_id]
    assert frozen.job(job["id"]) == record
