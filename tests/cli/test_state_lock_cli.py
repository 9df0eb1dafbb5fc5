"""The state lock through the CLI: writers fail at once naming the holder (another process),
or wait with --lock-timeout; read-only commands work while the lock is held."""

from __future__ import annotations

import getpass
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rmapply.emulator import Emulator
from tests.cli.project import REPO, apply, lock_held, run, state_of, write_project

HINT = (
    "Hint: wait for that command to finish, or let this one wait with --lock-timeout SECONDS;"
    " the lock is freed by the OS as soon as that process ends (see docs/state.md#lock)"
)


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def project(tmp_path: Path, itwin_id: str, env: dict[str, str]) -> Path:
    """A project applied once: workspace main and job site-a in state."""
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    apply(tmp_path, env)
    return tmp_path


def _locked_message(state: Path, holder: subprocess.Popen[str], waited: str = "") -> str:
    info = json.loads(state.with_name(state.name + ".lock.info").read_text("utf-8"))
    return (
        f"Error: state file {state} is locked by pid {holder.pid} on {socket.gethostname()} "
        f"(user {getpass.getuser()}, command 'apply --test', since {info['since']}){waited}"
    )


WRITERS = [
    pytest.param(["plan"], ["--out", "{dir}/plan.json"], id="plan --out"),
    pytest.param(["refresh"], [], id="refresh"),
    pytest.param(["import"], ["jobs.site-a", "some-id"], id="import"),
    pytest.param(["state", "rm"], ["jobs.site-a"], id="state rm"),
    pytest.param(["state", "mv"], ["jobs.site-a", "jobs.site-b"], id="state mv"),
    pytest.param(["state", "forget-intent"], ["jobs.site-a"], id="state forget-intent"),
]


@pytest.mark.parametrize(("command", "args"), WRITERS)
def test_writer_fails_at_once_naming_the_process_that_holds_the_lock(
    project: Path, env: dict[str, str], command: list[str], args: list[str]
) -> None:
    state = project / "rmapply.state.json"
    before = state.read_bytes()
    with lock_held(state) as holder:
        args = [a.replace("{dir}", str(project)) for a in args]
        code, out, err = run(*command, "-C", str(project), *args, env=env)
        assert (code, out) == (1, "")
        assert err.splitlines() == [_locked_message(state, holder), HINT]
    assert state.read_bytes() == before
    assert not (project / "plan.json").exists()


def test_writer_with_lock_timeout_gives_up_and_says_how_long_it_waited(
    project: Path, env: dict[str, str]
) -> None:
    state = project / "rmapply.state.json"
    with lock_held(state) as holder:
        code, _, err = run(
            "state", "rm", "-C", str(project), "jobs.site-a", "--lock-timeout", "0.2", env=env
        )
        assert code == 1
        assert err.splitlines()[0] == _locked_message(
            state, holder, "; gave up after waiting 0.2 s"
        )
    assert "jobs.site-a" in state_of(project)["resources"]


def test_plan_out_waits_for_the_lock_with_lock_timeout(project: Path, env: dict[str, str]) -> None:
    state = project / "rmapply.state.json"
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.state.workers", "hold-lock", str(state), "0.5"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "LOCKED"
        planfile = project / "plan.json"
        code, out, err = run(
            "plan", "-C", str(project), "--out", str(planfile), "--lock-timeout", "60", env=env
        )
        assert code == 0, err
        assert f"Saved the plan to {planfile}" in out
    finally:
        holder.wait(timeout=60)
        assert holder.stdout is not None
        holder.stdout.close()


def test_read_only_commands_work_while_another_process_holds_the_lock(
    project: Path, env: dict[str, str]
) -> None:
    state = project / "rmapply.state.json"
    with lock_held(state):
        code, out, err = run("plan", "-C", str(project), "--detailed-exitcode", env=env)
        assert (code, err) == (0, ""), out
        assert out == "No changes: 2 resource(s) match the manifests.\n"
        assert run("plan", "-C", str(project), "--no-refresh", env=env)[0] == 0
        assert run("state", "list", "-C", str(project), env=env)[1] == (
            "jobs.site-a\nworkspaces.main\n"
        )
        code, out, _ = run("state", "show", "-C", str(project), "jobs.site-a", env=env)
        assert code == 0 and json.loads(out)["address"] == "jobs.site-a"
        code, out, _ = run("output", "-C", str(project), "--json", env=env)
        assert code == 0 and set(json.loads(out)["resources"]) == {"jobs.site-a", "workspaces.main"}


def test_plan_out_releases_the_lock_when_it_fails(project: Path, env: dict[str, str]) -> None:
    planfile = project / "plan.json"
    code, _, err = run(
        "plan", "-C", str(project), "--out", str(planfile), "--target", "jobs.nope", env=env
    )
    assert code == 1
    assert err.splitlines()[0] == (
        "Error: --target 'jobs.nope' matches no resource in the manifests or the state"
    )
    assert not planfile.exists()
    assert not (project / "rmapply.state.json.lock.info").exists()
    assert run("state", "rm", "-C", str(project), "jobs.site-a", env=env)[0] == 0
