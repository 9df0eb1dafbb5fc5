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
    assert "Plan: 5 to create" in outputs[0]
    # site-a reuses the cache of bridge-north: it is created at once and submitted only once
    # bridge-north has succeeded (the next apply), so this apply leaves it waiting (exit 0)
    assert (
        "Apply complete: 5 created, 0 updated, 0 replaced, 0 deleted; 3 submitted; 0 failed,"
        " 0 skipped, 1 waiting." in outputs[1]
    )
    assert "  jobs.site-a: waiting for jobs.bridge-north (active" in outputs[1]
    # a rehearsal keeps its own state beside the emulator's data; the real one is never made
    assert not (tmp_path / "manifests" / "rmapply.state.json").exists()
    local_state = tmp_path / "manifests" / ".rmapply" / "local" / "state.json"
    state = json.loads(local_state.read_text("utf-8"))
    assert state["endpoint"] == "local:.rmapply/emulator.sqlite3"
    jobs = {k: v for k, v in state["resources"].items() if v["kind"] == "job"}
    assert len(jobs) == 4 and all(r["outputs"] for r in jobs.values())
    for address, record in jobs.items():
        state = "unsubmitted" if address == "jobs.site-a" else "active"
        assert f"{address}: {record['remote_id']} ({state})" in outputs[2]
    # the cache reference of site-a became the id of the job that creates the cache
    cache = jobs["jobs.site-a"]["remote"]["jobSettings"]["cacheSettings"]
    assert cache == {"useCache": jobs["jobs.bridge-north"]["remote_id"]}
    again = _rmapply(["plan", "-C", "manifests", "--local", "--detailed-exitcode"], tmp_path)
    if again.returncode == 0:  # bridge-north still running: the submit of site-a only waits
        assert "Nothing to do now: 1 submit(s) wait for upstream jobs" in again.stdout
    else:  # bridge-north succeeded meanwhile: the submit of site-a is ready
        assert again.returncode == 2, again.stdout
        assert "> jobs.site-a: submit" in again.stdout
    assert not (tmp_path / "manifests" / "rmapply.state.json").exists()
