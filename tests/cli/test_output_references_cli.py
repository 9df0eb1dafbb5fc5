"""Output references (``jobs.KEY.outputs.FORMAT``) through the CLI: validate and render show
them as written; plan shows the id as known after apply; apply leaves the downstream submit
waiting (exit 0); ``plan --detailed-exitcode`` is 0 while only waiting, 2 once inputs are ready."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rmapply.emulator import Emulator
from tests.cli.project import photos_id, run
from tests.schemas import assert_valid

PIPELINE = """\
[jobs.calib]
type = "Calibration"
name = "Calibration"
workspace = "main"
inputs = [{{ id = "{photos}" }}]
settings = {{ quality = "Medium", outputs = ["CCOrientations"] }}

[jobs.recon]
type = "Reconstruction"
name = "Reconstruction"
workspace = "main"
inputs = [{{ id = "{photos}" }}, {{ id = "jobs.calib.outputs.CCOrientations" }}]
settings = {{ quality = "Medium", outputs = ["Cesium 3D Tiles"] }}
"""
# the poll back-off (15, 30, 60, 120 s) scaled to an emulator at speed 1000
POLL_FAST = {"RMAPPLY_POLL_SCALE": "0.002"}


@pytest.fixture
def pipeline(tmp_path: Path, itwin_id: str) -> Path:
    """A project with a Calibration -> Reconstruction pipeline."""
    (tmp_path / "rmapply.toml").write_text(f'[project]\niTwinId = "{itwin_id}"\n', "utf-8")
    (tmp_path / "workspaces.toml").write_text('[workspaces.main]\nname = "Main"\n', "utf-8")
    (tmp_path / "jobs.toml").write_text(PIPELINE.format(photos=photos_id("p")), "utf-8")
    return tmp_path


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


def test_validate_accepts_a_pipeline(pipeline: Path) -> None:
    code, out, err = run("validate", "-C", str(pipeline), "--no-cache")
    assert (code, err) == (0, "")
    assert out.startswith("Valid: 1 workspace, 2 jobs")


def test_render_shows_a_reference_as_written(pipeline: Path) -> None:
    code, out, _ = run("render", "-C", str(pipeline), "--format", "yaml", "--no-cache")
    assert code == 0
    inputs = yaml.safe_load(out)["jobs"]["recon"]["inputs"]
    assert inputs[1] == {"id": "jobs.calib.outputs.CCOrientations"}


def test_plan_shows_the_input_as_known_after_apply_from_its_reference(
    pipeline: Path, env: dict[str, str], emulator: Emulator
) -> None:
    code, out, err = run("plan", "-C", str(pipeline), env=env)
    assert (code, err) == (0, "")
    assert "inputs[1].id: (known after apply) from jobs.calib.outputs.CCOrientations" in out
    assert emulator.jobs() == []


def test_detailed_exitcode_is_0_while_the_chain_only_waits_and_2_once_inputs_are_ready(
    pipeline: Path, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.set_speed(0)  # the calibration stays active until the test moves the clock
    code, out, err = run("apply", "-C", str(pipeline), "--auto-approve", env=env)
    assert (code, err) == (0, ""), out
    assert "  jobs.recon: waiting for jobs.calib (active, 0%)" in out
    assert ", 1 waiting." in out
    code, out, _ = run("plan", "-C", str(pipeline), "--detailed-exitcode", env=env)
    assert code == 0, out
    assert "waits for jobs.calib (active)" in out
    assert "Nothing to do now: 1 submit(s) wait for upstream jobs still running" in out
    emulator.advance(24 * 3600)
    code, out, _ = run("plan", "-C", str(pipeline), "--detailed-exitcode", env=env)
    assert code == 2, out
    code, out, err = run("apply", "-C", str(pipeline), "--auto-approve", env=env)
    assert (code, err) == (0, ""), out
    jobs = {job.name: job for job in emulator.jobs()}
    assert len(jobs) == 2
    assert jobs["Reconstruction"].state.value == "active"
    assert jobs["Reconstruction"].inputs[1].id == jobs["Calibration"].output_ids()["CCOrientations"]


def test_apply_json_reports_the_waiting_submit_as_an_action_waiting_event(
    pipeline: Path, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.set_speed(0)
    code, out, err = run("apply", "-C", str(pipeline), "--auto-approve", "--json", env=env)
    assert (code, err) == (0, "")
    events = [json.loads(line) for line in out.splitlines()]
    for event in events:
        assert_valid("apply-events", event)
    (waiting,) = [e for e in events if e["event"] == "action_waiting"]
    assert waiting["address"] == "jobs.recon"
    assert waiting["reasonCode"] == "waiting-for-inputs"
    assert waiting["waitingFor"] == [
        {"address": "jobs.calib", "state": "active", "percentage": 0.0}
    ]
    summary = events[-1]
    assert summary["counts"]["waiting"] == 1
    assert {"address": "jobs.recon", "action": "submit", "status": "waiting"}.items() <= next(
        a for a in summary["actions"] if a["status"] == "waiting"
    ).items()


def test_a_create_answer_without_the_needed_output_id_fails_the_downstream_create_until_read(
    pipeline: Path, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.set_speed(0)
    emulator.blank_outputs_next(1)  # calib's create answer lists its formats, not their ids
    code, out, err = run("apply", "-C", str(pipeline), "--auto-approve", env=env)
    assert code == 1, out
    assert (
        "jobs.recon: create failed: jobs.recon: input jobs.calib.outputs.CCOrientations: the "
        "create answer of jobs.calib lists no output CCOrientations (outputs: none); nothing was "
        "sent"
    ) in out
    assert "Error: apply finished with problems: 1 failed, 1 skipped" in err
    assert [job.name for job in emulator.jobs()] == ["Calibration"]  # nothing sent for recon
    # the next apply's refresh reads calib's output id from the service and creates recon with it
    code, out, err = run("apply", "-C", str(pipeline), "--auto-approve", env=env)
    assert (code, err) == (0, ""), out
    jobs = {job.name: job for job in emulator.jobs()}
    assert jobs["Reconstruction"].inputs[1].id == jobs["Calibration"].output_ids()["CCOrientations"]
    assert "  jobs.recon: waiting for jobs.calib (active, 0%)" in out


def test_a_submit_blocked_by_a_failed_upstream_is_a_change_for_detailed_exitcode_and_fails_apply(
    pipeline: Path, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.set_speed(0)
    assert run("apply", "-C", str(pipeline), "--auto-approve", env=env)[0] == 0
    (calib,) = [job for job in emulator.jobs() if job.name == "Calibration"]
    emulator.fail_job(calib.id, "Not enough tie points.")
    emulator.advance(24 * 3600)
    code, out, _ = run("plan", "-C", str(pipeline), "--detailed-exitcode", env=env)
    assert code == 2, out  # a decision is due (re-run jobs.calib), though nothing can be sent
    assert "it is blocked, jobs.calib failed: it is not submitted" in out
    assert "[upstream-failed]" in out
    code, out, err = run("apply", "-C", str(pipeline), "--auto-approve", env=env)
    assert code == 1, out
    assert "  jobs.recon: submit skipped: blocked, jobs.calib failed" in err
    assert {job.name: job.state.value for job in emulator.jobs()}["Reconstruction"] == "unsubmitted"


def test_a_saved_pipeline_plan_applies_filling_the_reference_from_the_upstream_it_creates(
    pipeline: Path, env: dict[str, str], emulator: Emulator, tmp_path: Path
) -> None:
    emulator.set_speed(0)
    saved = tmp_path / "plan.json"
    assert run("plan", "-C", str(pipeline), "--out", str(saved), env=env)[0] == 0
    data = json.loads(saved.read_text("utf-8"))
    (recon,) = [a for a in data["plan"]["actions"] if a["address"] == "jobs.recon"]
    assert recon["inputRefs"] == [{"address": "jobs.calib", "format": "CCOrientations", "index": 1}]
    recon["inputRefs"][0]["format"] = "OBJ"  # filled from another output: the seal refuses it
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data), "utf-8")
    code, _, err = run("apply", "-C", str(pipeline), str(edited), env=env)
    assert code == 1
    assert "was changed after it was written (digest mismatch)" in err
    assert emulator.jobs() == []
    code, out, err = run("apply", "-C", str(pipeline), str(saved), env=env)
    assert (code, err) == (0, ""), out
    jobs = {job.name: job for job in emulator.jobs()}
    assert jobs["Reconstruction"].inputs[1].id == jobs["Calibration"].output_ids()["CCOrientations"]
    assert "  jobs.recon: waiting for jobs.calib (active, 0%)" in out


def test_retry_failed_on_a_failed_upstream_runs_it_again_and_its_downstream_follows(
    pipeline: Path, env: dict[str, str], emulator: Emulator
) -> None:
    jobs_toml = pipeline / "jobs.toml"
    jobs_toml.write_text(
        jobs_toml.read_text("utf-8").replace(
            'name = "Calibration"\n', 'name = "Calibration"\nretryFailed = true\n'
        ),
        "utf-8",
    )
    emulator.set_speed(0)
    assert run("apply", "-C", str(pipeline), "--auto-approve", env=env)[0] == 0
    (failed,) = [job for job in emulator.jobs() if job.name == "Calibration"]
    (old_recon,) = [job for job in emulator.jobs() if job.name == "Reconstruction"]
    emulator.fail_job(failed.id)
    emulator.advance(24 * 3600)
    code, out, _ = run("plan", "-C", str(pipeline), env=env)
    assert "-/+ jobs.calib: replace (old job kept), then submit" in out
    assert "jobs.calib is run again, so inputs[1].id changes" in out
    emulator.set_speed(1000)
    code, out, err = run(
        "apply", "-C", str(pipeline), "--auto-approve", "--wait", env=env | POLL_FAST
    )
    assert (code, err) == (0, ""), out
    jobs = emulator.jobs()
    assert sorted((job.name, job.state.value) for job in jobs) == [
        ("Calibration", "failed"),
        ("Calibration", "success"),
        ("Reconstruction", "success"),  # the unsubmitted one that waited was deleted
    ]
    (calib,) = [j for j in jobs if j.name == "Calibration" and j.state.value == "success"]
    (recon,) = [j for j in jobs if j.name == "Reconstruction"]
    assert recon.id != old_recon.id
    assert recon.inputs[1].id == calib.output_ids()["CCOrientations"]
