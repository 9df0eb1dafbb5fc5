"""The README's main command, as a newcomer runs it: plan and apply the example with --local."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.reference import REPO


def _main_command() -> list[list[str]]:
    """The rmapply invocations of the README's first shell block (after the install)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)\n```", readme, flags=re.S)
    assert block is not None, "the README has no sh block"
    steps = [shlex.split(part) for part in block.group(1).split("&&")]
    return [step[1:] for step in steps if step and step[0].endswith("bin/rmapply")]


def _rmapply(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rmapply", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def test_readme_main_command_plans_and_applies_the_example(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "manifests",
        tmp_path / "manifests",
        ignore=shutil.ignore_patterns(".rmapply", "rmapply.state.json*"),
    )
    steps = _main_command()
    assert [s[0] for s in steps] == ["plan", "apply", "output"]
    outputs = []
    for args in steps:
        done = _rmapply(args, tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert "Plan: 7 to create" in outputs[0]
    # the stages that read another job's output or cache wait for it: created, not submitted
    assert (
        "Apply complete: 7 created, 0 updated, 0 replaced, 0 deleted; 4 submitted; 0 failed,"
        " 0 skipped, 2 waiting." in outputs[1]
    )
    assert "jobs.recon: waiting for jobs.calib (active" in outputs[1]
    assert "jobs.site-a: waiting for jobs.bridge-north (active" in outputs[1]
    # a rehearsal keeps its own state beside the emulator's data; the real one is never made
    assert not (tmp_path / "manifests" / "rmapply.state.json").exists()
    local_state = tmp_path / "manifests" / ".rmapply" / "local" / "state.json"
    state = json.loads(local_state.read_text("utf-8"))
    assert state["endpoint"] == "local:.rmapply/emulator.sqlite3"
    jobs = {k: v for k, v in state["resources"].items() if v["kind"] == "job"}
    assert len(jobs) == 6 and all(r["outputs"] for r in jobs.values())
    waiting = {"jobs.recon", "jobs.site-a"}
    for address, record in jobs.items():
        seen = "unsubmitted" if address in waiting else "active"
        assert f"{address}: {record['remote_id']} ({seen})" in outputs[2]
    # the orientations input of recon became the output id of calib
    orientations = jobs["jobs.calib"]["outputs"]["CCOrientations"]
    assert {"id": orientations, "description": "Quarry orientations"} in jobs["jobs.recon"][
        "remote"
    ]["inputs"]
    # the cache reference of site-a became the id of the job that creates the cache
    cache = jobs["jobs.site-a"]["remote"]["jobSettings"]["cacheSettings"]
    assert cache == {"useCache": jobs["jobs.bridge-north"]["remote_id"]}
    again = _rmapply(["plan", "-C", "manifests", "--local", "--detailed-exitcode"], tmp_path)
    # nothing is created again; the waiting submits are due (2) once their upstream succeeded
    if again.returncode == 0:
        assert "Nothing to do now: 2 submit(s) wait for upstream jobs still running" in again.stdout
    else:
        assert again.returncode == 2, again.stdout + again.stderr
        assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete;" in again.stdout
    assert not (tmp_path / "manifests" / "rmapply.state.json").exists()
