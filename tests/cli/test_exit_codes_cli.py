"""Exit codes CI can trust (issue 8, point 3): refused credentials fail every command that reads
the service, ``wait`` stops at once, and ``plan --detailed-exitcode`` says 0 only when every
resource was read and matches, 2 for changes, 1 when anything could not be read or is blocked."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmapply.cli.plan import NO_REFRESH_NOTE
from rmapply.emulator import Emulator, EmulatorOptions
from tests.cli.project import apply, remote_id, run, write_project
from tests.cli.test_serve import RMAPPLY, serving
from tests.conftest import FAST, TEST_TOKEN

REFUSED = "expired-secret-4f1c9a7e"  # a token the emulator does not know: 401
JOBS = {"site-a": {"submit": "false"}, "site-b": {"submit": "false"}}


@pytest.fixture
def strict(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """An emulator that accepts only TEST_TOKEN; jobs stay active until the clock moves."""
    return emulator_factory(EmulatorOptions(speed=FAST, tokens=(TEST_TOKEN,)))


def _env(emulator: Emulator, token: str) -> dict[str, str]:
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def running(tmp_path: Path, itwin_id: str, strict: Emulator) -> Path:
    """Two submitted jobs, still active on the service, applied with the good token."""
    strict.set_speed(0)
    write_project(tmp_path, itwin_id, {"site-a": {}, "site-b": {}})
    apply(tmp_path, _env(strict, TEST_TOKEN))
    return tmp_path


COMMANDS = [
    ("plan",),
    ("plan", "--detailed-exitcode"),
    ("refresh",),
    ("status",),
    ("wait", "--poll-scale", "0.001"),
    ("apply", "--auto-approve"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_refused_token_fails_each_command_with_a_credentials_hint(
    running: Path, strict: Emulator, command: tuple[str, ...]
) -> None:
    state = (running / "rmapply.state.json").read_bytes()
    code, out, err = run(command[0], "-C", str(running), *command[1:], env=_env(strict, REFUSED))
    assert code == 1, (out, err)
    assert "401" in err
    hint = next(line for line in err.splitlines() if line.startswith("Hint: "))
    assert "RMAPPLY_TOKEN" in hint
    assert "RMAPPLY_CLIENT_ID and RMAPPLY_CLIENT_SECRET" in hint
    assert REFUSED not in out + err
    assert (running / "rmapply.state.json").read_bytes() == state
    assert len(strict.jobs()) == 2


def test_wait_stops_polling_at_the_first_refused_token(running: Path, strict: Emulator) -> None:
    before = strict.request_count("GET")
    flags = ("--poll-scale", "0.001", "--parallelism", "1")
    code, out, err = run("wait", "-C", str(running), *flags, env=_env(strict, REFUSED))
    assert code == 1
    assert "refused the credentials" in err
    # one poll, then no more: the other job is not even asked about, and keeps running
    assert strict.request_count("GET") - before == 1
    assert "Stopped waiting (the service answered 401); 1 job(s) keep running" in out


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """A user pointed at the open emulator."""
    return _env(emulator, token)


@pytest.fixture
def project(tmp_path: Path, itwin_id: str, env: dict[str, str]) -> Path:
    """A workspace and two unsubmitted jobs, applied."""
    write_project(tmp_path, itwin_id, JOBS)
    apply(tmp_path, env)
    return tmp_path


def _detailed(folder: Path, env: dict[str, str], *extra: str) -> tuple[int, str, str]:
    return run("plan", "-C", str(folder), "--detailed-exitcode", *extra, env=env)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_get_anywhere_in_the_refresh_fails_the_plan(
    project: Path, env: dict[str, str], emulator: Emulator, status: int
) -> None:
    # the listing of jobs answers; the GET of the workspace is refused
    emulator.fail_next(1, status, "GET", "/contextcapture/workspaces")
    code, out, err = _detailed(project, env)
    assert (code, out) == (1, "")
    workspace = remote_id(project, "workspaces.main")
    assert err.startswith(f"Error: {emulator.base_url} refused ")
    assert f"GET /workspaces/{workspace}: {status} " in err
    assert "RMAPPLY_TOKEN, or RMAPPLY_CLIENT_ID and RMAPPLY_CLIENT_SECRET" in err


def test_detailed_exitcode_is_0_only_when_everything_was_read_and_matches(
    project: Path, itwin_id: str, env: dict[str, str]
) -> None:
    assert _detailed(project, env)[:2] == (0, "No changes: 3 resource(s) match the manifests.\n")
    write_project(project, itwin_id, {**JOBS, "site-c": {"submit": "false"}})
    code, out, _ = _detailed(project, env)
    assert code == 2
    assert "Plan: 1 to create" in out


def test_detailed_exitcode_is_1_when_a_job_could_not_be_read_even_with_changes(
    project: Path, itwin_id: str, env: dict[str, str], emulator: Emulator
) -> None:
    job = remote_id(project, "jobs.site-a")
    # the listing and the GET of each job answer 400: nothing is known of the jobs
    emulator.fail_next(3, 400, "GET", "/contextcapture/jobs")
    code, out, err = _detailed(project, env)
    assert code == 1, (out, err)
    assert "Error: plan --detailed-exitcode: the plan is not complete" in err
    assert f"  could not be read: job {job}: GET /jobs/{job}: 400" in err
    write_project(project, itwin_id, {**JOBS, "site-c": {"submit": "false"}})
    emulator.fail_next(3, 400, "GET", "/contextcapture/jobs")
    code, out, err = _detailed(project, env)
    assert code == 1  # 1 wins over 2
    assert "Plan: 1 to create" in out


def test_refresh_and_status_exit_1_when_a_job_could_not_be_read(
    project: Path, env: dict[str, str], emulator: Emulator
) -> None:
    state = (project / "rmapply.state.json").read_bytes()
    emulator.fail_next(3, 400, "GET", "/contextcapture/jobs")
    code, out, err = run("refresh", "-C", str(project), env=env)
    assert code == 1
    assert "Error: refresh: 2 resource(s) could not be read; their records were left" in err
    assert (project / "rmapply.state.json").read_bytes() == state
    emulator.fail_next(1, 400, "GET", "/contextcapture/jobs")
    code, out, err = run("status", "-C", str(project), env=env)
    assert code == 1
    assert out.count(": unreadable [id=") == 1
    assert f"Error: status: 1 of 2 job(s) could not be read from {emulator.base_url}" in err


def test_detailed_exitcode_is_1_while_a_request_of_unknown_outcome_is_unresolved(
    project: Path, env: dict[str, str]
) -> None:
    path = project / "rmapply.state.json"
    state = json.loads(path.read_text("utf-8"))
    state["pending"] = {
        "jobs.site-c": {
            "address": "jobs.site-c",
            "action": "create",
            "sent_at": datetime(2024, 5, 1, tzinfo=UTC).isoformat(),
            "request_digest": "sha256:" + "0" * 64,
            "details": {"name": "Site site-c"},
        }
    }
    path.write_text(json.dumps(state), encoding="utf-8")
    code, out, err = _detailed(project, env, "--no-refresh")
    assert code == 1, (out, err)
    assert "  jobs.site-c: blocked behind the unresolved create sent at 2024-05-01" in err


def test_no_refresh_reads_nothing_and_says_so(
    project: Path, itwin_id: str, env: dict[str, str], emulator: Emulator
) -> None:
    before = emulator.request_count()
    code, _, err = _detailed(project, env, "--no-refresh")
    assert (code, err) == (0, NO_REFRESH_NOTE + "\n")
    write_project(project, itwin_id, {**JOBS, "site-c": {"submit": "false"}})
    code, _, err = _detailed(project, env, "--no-refresh")
    assert (code, err) == (2, NO_REFRESH_NOTE + "\n")
    assert emulator.request_count() == before


def test_a_ci_job_with_an_expired_secret_goes_red_against_rmapply_serve(
    tmp_path: Path, itwin_id: str
) -> None:
    """Each CI step is its own process against the service in another: every one exits 1."""
    write_project(tmp_path, itwin_id)
    base = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")} | {"NO_COLOR": "1"}

    def step(token: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = base | {"RMAPPLY_ENDPOINT": url, "RMAPPLY_TOKEN": token}
        command = [*RMAPPLY, args[0], "-C", str(tmp_path), *args[1:]]
        return subprocess.run(
            command, check=False, env=env, capture_output=True, text=True, timeout=120
        )

    with serving("--token", TEST_TOKEN, "--speed", "0.001") as (_, url):
        assert step(TEST_TOKEN, "apply", "--auto-approve").returncode == 0
        for args in (
            ("plan", "--detailed-exitcode"),
            ("refresh",),
            ("status",),
            ("wait", "--poll-scale", "0.001"),
        ):
            done = step(REFUSED, *args)
            assert done.returncode == 1, (args, done.stdout, done.stderr)
            assert "refused the credentials" in done.stderr
            assert "RMAPPLY_TOKEN" in done.stderr
            assert REFUSED not in done.stdout + done.stderr
