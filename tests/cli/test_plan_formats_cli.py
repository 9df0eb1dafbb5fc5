"""rmapply plan's output formats through the CLI (golden files), colour rules and exit codes."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from rmapply.emulator import Emulator
from tests.cli.project import REPO, apply, check_golden, normalised, run, write_project

ITWIN = "5d4b3a2c-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
BEFORE = {
    "tuned": {"submit": "false"},
    "renamed": {"submit": "false"},
    "running": {},
    "waiting": {"submit": "false"},
    "old": {"submit": "false"},
    "left": {},
    "relabelled": {},
}
AFTER = {
    "tuned": {"submit": "false", "quality": "Extra"},
    "renamed": {"submit": "false", "name": "Renamed"},
    "running": {"quality": "Extra"},
    "waiting": {},
    "fresh": {},
    "relabelled": {"name": "Relabelled"},
}


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def changed(tmp_path: Path, env: dict[str, str], emulator: Emulator) -> Path:
    """A project applied once, then changed so that its plan has every kind of action: create,
    update, replace (old job deleted, old job kept), submit, delete (job, workspace), forget and
    record."""
    emulator.set_speed(0)  # the submitted job stays active
    write_project(tmp_path, ITWIN, BEFORE)
    with (tmp_path / "workspaces.toml").open("a", encoding="utf-8") as spare:
        spare.write('[workspaces.spare]\nname = "Spare"\n')
    apply(tmp_path, env)
    write_project(tmp_path, ITWIN, AFTER)  # workspaces.spare is gone from the manifests
    return tmp_path


@pytest.mark.parametrize(
    ("fmt", "golden"),
    [("text", "cli-plan.txt"), ("markdown", "cli-plan.md"), ("json", "cli-plan.json")],
)
def test_plan_formats_match_golden_files(
    changed: Path, env: dict[str, str], fmt: str, golden: str
) -> None:
    code, out, err = run(
        "plan", "-C", str(changed), "--format", fmt, "--detailed-exitcode", env=env
    )
    assert (code, err) == (2, "")
    check_golden(golden, normalised(out, keep=(ITWIN,)))


def test_plan_json_is_the_same_for_the_same_input(changed: Path, env: dict[str, str]) -> None:
    first = run("plan", "-C", str(changed), "--format", "json", "--no-refresh", env=env)[1]
    second = run("plan", "-C", str(changed), "--format", "json", "--no-refresh", env=env)[1]
    drop = lambda text: {k: v for k, v in json.loads(text).items() if k != "plannedAt"}  # noqa: E731
    assert drop(first) == drop(second)


def test_plan_json_with_out_keeps_stdout_pure_json(changed: Path, env: dict[str, str]) -> None:
    planfile = changed / "plan.json"
    code, out, err = run(
        "plan", "-C", str(changed), "--format", "json", "--out", str(planfile), env=env
    )
    assert code == 0
    assert json.loads(out)["summary"]["counts"]["create"] == 1
    assert err.startswith(f"\nSaved the plan to {planfile}")


def test_exit_codes(changed: Path, env: dict[str, str]) -> None:
    folder = str(changed)
    assert run("plan", "-C", folder, env=env)[0] == 0  # changes, without --detailed-exitcode
    assert run("plan", "-C", folder, "--detailed-exitcode", env=env)[0] == 2
    apply(changed, env)
    code, out, _ = run("plan", "-C", folder, "--detailed-exitcode", env=env)
    assert (code, out) == (0, "No changes: 7 resource(s) match the manifests.\n")
    # nothing left to run: a budget of 0 holds
    assert run("plan", "-C", folder, "--detailed-exitcode", "--max-cost", "0", env=env)[0] == 0
    # errors are 1, with --detailed-exitcode too, usage errors included
    (changed / "jobs" / "broken.toml").write_text("[jobs.broken]\ntype = 7\n", encoding="utf-8")
    assert run("plan", "-C", folder, "--detailed-exitcode", env=env)[0] == 1
    code, _, err = run("plan", "-C", folder, "--detailed-exitcode", "--formt", "json", env=env)
    assert code == 1
    assert "Error: No such option '--formt'. (Did you mean one of: '--format', '--out'?)" in err


def _plan_on_a_terminal(folder: Path, *extra: str, env: dict[str, str]) -> str:
    """stdout of ``rmapply plan`` run as a subprocess whose stdout is a pseudo-terminal."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "rmapply", "plan", "-C", str(folder), "--no-refresh", *extra],
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), **env},
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    os.close(leader)
    return b"".join(chunks).decode("utf-8")


def test_colour_on_a_terminal_only_and_never_with_no_color(
    changed: Path, env: dict[str, str]
) -> None:
    plain_env = {"RMAPPLY_TOKEN": "", "RMAPPLY_ENDPOINT": env["RMAPPLY_ENDPOINT"]}
    coloured = _plan_on_a_terminal(changed, env=plain_env)
    assert "\x1b[32m  + jobs.fresh\x1b[0m: create, then submit" in coloured
    assert "\x1b[" not in _plan_on_a_terminal(changed, "--no-color", env=plain_env)
    assert "\x1b[" not in _plan_on_a_terminal(changed, env={**plain_env, "NO_COLOR": "1"})
    # not a terminal (a pipe, a file, CI logs): no colour either
    code, out, _ = run("plan", "-C", str(changed), "--no-refresh", env=plain_env)
    assert code == 0 and "\x1b[" not in out and "  + jobs.fresh: create" in out
