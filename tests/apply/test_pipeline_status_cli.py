"""``rmapply status`` shows a pipeline's chain: each job's state and what it waits for, in text
and in JSON, against the emulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rmapply.emulator import Emulator
from rmapply.state import LocalStateStore
from tests.apply.test_cli_apply import run
from tests.schemas import assert_valid

PHOTOS = "58e0c0ca-1d8d-4e8b-9a3c-2f3a1b5c7d90"
FAST_POLLS = {"RMAPPLY_POLL_SCALE": "0.002"}  # the emulator fixture runs 1000 x


def write_chain(root: Path, itwin_id: str, *, submit_recon: bool, fail_calib: bool = False) -> Path:
    """calib (Calibration) -> recon (its orientations plus the photos) -> mesh (recon's cache);
    recon and mesh are submitted only when ``submit_recon``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "rmapply.toml").write_text(
        f'[project]\niTwinId = "{itwin_id}"\nname = "chain"\n\n[state]\npath = "state.json"\n'
    )
    (root / "workspaces.toml").write_text('[workspaces.main]\nname = "Main"\n')
    submit = str(submit_recon).lower()
    marker = " [fail]" if fail_calib else ""
    (root / "jobs.toml").write_text(
        f'[jobs.calib]\ntype = "Calibration"\nname = "Calib{marker}"\nworkspace = "main"\n'
        f'inputs = [{{ id = "{PHOTOS}" }}]\n'
        '[jobs.calib.settings]\nquality = "Draft"\noutputs = ["CCOrientations"]\n\n'
        f'[jobs.recon]\ntype = "Reconstruction"\nname = "Recon"\nworkspace = "main"\n'
        f"submit = {submit}\n"
        f'inputs = [{{ id = "{PHOTOS}" }}, {{ id = "jobs.calib.outputs.CCOrientations" }}]\n'
        '[jobs.recon.settings]\nquality = "Draft"\noutputs = ["OBJ"]\n'
        "cacheSettings = { createCache = true }\n\n"
        f'[jobs.mesh]\ntype = "Reconstruction"\nname = "Mesh"\nworkspace = "main"\n'
        f"submit = {submit}\n"
        f'inputs = [{{ id = "{PHOTOS}" }}]\n'
        '[jobs.mesh.settings]\nquality = "Draft"\noutputs = ["Cesium 3D Tiles"]\n'
        'cacheSettings = { useCache = "jobs.recon" }\n'
    )
    return root


def status(env: dict[str, str], project: Path, *args: str) -> tuple[int, str, str]:
    return run(env, "status", "-C", str(project), *args)


def test_status_says_what_each_unsubmitted_stage_waits_for_and_how_far_that_job_is(
    tmp_path: Path, emulator_factory: Callable[..., Emulator], token: str, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0)  # calib stays active while we look
    env = {"RMAPPLY_ENDPOINT": slow.base_url, "RMAPPLY_TOKEN": token}
    project = write_chain(tmp_path / "p", itwin_id, submit_recon=False)
    code, _, err = run(env, "apply", "-C", str(project), "--auto-approve")
    assert code == 0, err
    write_chain(project, itwin_id, submit_recon=True)  # a later commit asks for the rest

    code, out, err = status(env, project)
    assert (code, err) == (0, "")
    lines = {line.split(":")[0]: line for line in out.splitlines()}
    assert len(out.splitlines()) == len(lines) == 3  # each job once
    assert lines["jobs.calib"].startswith("jobs.calib: active ")
    assert "waiting" not in lines["jobs.calib"]
    assert lines["jobs.recon"].startswith(
        "jobs.recon: unsubmitted, waiting for jobs.calib (active, "
    )
    assert "%) [id=" in lines["jobs.recon"]
    assert lines["jobs.mesh"].startswith(
        "jobs.mesh: unsubmitted, waiting for jobs.recon (unsubmitted) [id="
    )

    code, out, err = status(env, project, "--format", "json")
    assert (code, err) == (0, "")
    rows = {row["address"]: row for row in map(json.loads, out.splitlines())}
    for row in rows.values():
        assert_valid("status", row)
    assert "inputs" not in rows["jobs.calib"]
    assert rows["jobs.recon"]["inputs"] == "waiting"
    [calib] = rows["jobs.recon"]["waitingFor"]
    assert (calib["address"], calib["state"]) == ("jobs.calib", "active")
    assert 0 <= calib["percentage"] <= 100
    assert rows["jobs.mesh"]["waitingFor"] == [
        {"address": "jobs.recon", "state": "unsubmitted", "percentage": None}
    ]


def test_status_of_one_stage_reads_its_upstream_along_and_shows_only_that_stage(
    tmp_path: Path, emulator: Emulator, token: str, itwin_id: str
) -> None:
    env = {"RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": token, **FAST_POLLS}
    project = write_chain(tmp_path / "p", itwin_id, submit_recon=False)
    assert run(env, "apply", "-C", str(project), "--auto-approve", "--wait")[0] == 0
    write_chain(project, itwin_id, submit_recon=True)

    code, out, err = status(env, project, "jobs.recon")
    assert (code, err) == (0, "")
    assert out.startswith(
        "jobs.recon: unsubmitted, inputs ready: the next 'rmapply apply' submits it [id="
    )
    assert len(out.splitlines()) == 1
    row = json.loads(status(env, project, "jobs.recon", "--json")[1])
    assert (row["inputs"], row["waitingFor"]) == ("ready", [])


def test_status_shows_a_stage_blocked_by_a_failed_upstream(
    tmp_path: Path, emulator: Emulator, token: str, itwin_id: str
) -> None:
    env = {"RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": token, **FAST_POLLS}
    project = write_chain(tmp_path / "p", itwin_id, submit_recon=False, fail_calib=True)
    run(env, "apply", "-C", str(project), "--auto-approve", "--wait")  # calib fails: exit 1
    write_chain(project, itwin_id, submit_recon=True, fail_calib=True)

    code, out, _ = status(env, project)
    assert code == 0
    recon = next(line for line in out.splitlines() if line.startswith("jobs.recon:"))
    assert recon.startswith("jobs.recon: unsubmitted, blocked: jobs.calib failed [id=")
    rows = {
        r["address"]: r for r in map(json.loads, status(env, project, "--json")[1].splitlines())
    }
    assert rows["jobs.recon"]["inputs"] == "blocked"
    assert rows["jobs.recon"]["waitingFor"] == [
        {"address": "jobs.calib", "state": "failed", "percentage": None}
    ]


def test_status_without_readable_manifests_shows_the_jobs_and_says_the_chain_is_missing(
    tmp_path: Path, emulator: Emulator, token: str, itwin_id: str
) -> None:
    env = {"RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": token, **FAST_POLLS}
    project = write_chain(tmp_path / "p", itwin_id, submit_recon=False)
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 0
    (project / "jobs.toml").write_text("[jobs.calib\n")  # broken in the working copy
    code, out, err = status(env, project)
    assert code == 0
    assert sorted(line.split(":")[0] for line in out.splitlines()) == [
        "jobs.calib",
        "jobs.mesh",
        "jobs.recon",
    ]
    assert "waiting" not in out
    assert err.startswith("Note: status shows no pipeline chain: the manifests could not be read")
    assert LocalStateStore(project / "state.json").load().resources["jobs.recon"]


def test_wait_follows_the_running_stage_then_says_where_each_waiting_stage_stands(
    tmp_path: Path, emulator: Emulator, token: str, itwin_id: str
) -> None:
    env = {"RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": token, **FAST_POLLS}
    project = write_chain(tmp_path / "p", itwin_id, submit_recon=True)
    code, _, err = run(env, "apply", "-C", str(project), "--auto-approve")
    assert code == 0, err

    code, out, err = run(env, "wait", "-C", str(project))
    assert (code, err) == (0, "")
    assert "jobs.recon: unsubmitted, inputs ready: the next 'rmapply apply' submits it" in out
    assert "jobs.mesh: unsubmitted, waiting for jobs.recon (unsubmitted)" in out
    assert "not running" not in out

    code, out, err = run(env, "wait", "-C", str(project), "--format", "json")
    assert (code, err) == (0, "")
    records = [json.loads(line) for line in out.splitlines()]
    for record in records:
        assert_valid("apply-events", record)
    stages = {r["address"]: r for r in records if r["event"] == "job_inputs"}
    assert (stages["jobs.recon"]["inputs"], stages["jobs.recon"]["waitingFor"]) == ("ready", [])
    assert stages["jobs.mesh"]["inputs"] == "waiting"
    assert stages["jobs.mesh"]["state"] == "unsubmitted"
