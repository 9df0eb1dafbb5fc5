"""Endpoint selection: --endpoint, then RMAPPLY_ENDPOINT, then [api] endpoint; --local runs the
embedded emulator with its data under DIR/.rmapply/, shared by separate invocations."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rmapply.emulator import Emulator, EmulatorOptions
from tests.cli.project import apply, remote_id, run, state_of, write_project
from tests.conftest import FAST


@pytest.fixture
def three(emulator_factory: Callable[..., Emulator]) -> tuple[Emulator, Emulator, Emulator]:
    """Three emulators: one for each way of naming an endpoint."""
    return (
        emulator_factory(EmulatorOptions(speed=FAST)),
        emulator_factory(EmulatorOptions(speed=FAST)),
        emulator_factory(EmulatorOptions(speed=FAST)),
    )


def _planned_against(folder: Path, env: dict[str, str], *extra: str) -> str:
    planfile = folder / "plan.json"
    # the other emulators hold none of the jobs: genuine 404s, accepted for this test
    flags = ("--out", str(planfile), "--allow-mass-removal", *extra)
    code, _, err = run("plan", "-C", str(folder), *flags, env=env)
    assert code == 0, err
    endpoint: str = json.loads(planfile.read_text("utf-8"))["endpoint"]
    return endpoint


def test_endpoint_flag_beats_environment_which_beats_rmapply_toml(
    tmp_path: Path, itwin_id: str, three: tuple[Emulator, Emulator, Emulator]
) -> None:
    flag, environment, toml = three
    write_project(tmp_path, itwin_id, extra_config=f'[api]\nendpoint = "{toml.base_url}"\n')
    env = {"RMAPPLY_TOKEN": "t", "NO_COLOR": "1"}
    # (no state yet: a state bound to one of them would refuse the others)
    assert _planned_against(tmp_path, env) == toml.base_url
    env["RMAPPLY_ENDPOINT"] = environment.base_url
    assert _planned_against(tmp_path, env) == environment.base_url
    assert _planned_against(tmp_path, env, "--endpoint", flag.base_url + "/") == flag.base_url
    apply(tmp_path, env, "--endpoint", flag.base_url)
    assert (len(flag.jobs()), len(environment.jobs()), len(toml.jobs())) == (1, 0, 0)


def test_local_wins_over_the_environment_and_excludes_endpoint(
    tmp_path: Path, itwin_id: str, emulator: Emulator
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    env = {"RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": "", "NO_COLOR": "1"}
    apply(tmp_path, env, "--local")
    assert emulator.request_count() == 0
    code, out, err = run(
        "plan", "-C", str(tmp_path), "--local", "--endpoint", emulator.base_url, env=env
    )
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "Error: --local and --endpoint exclude each other",
        "Hint: drop --endpoint to use the embedded emulator",
    ]


def test_local_keeps_its_jobs_under_dot_rmapply_between_invocations(
    tmp_path: Path, itwin_id: str
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}, "site-b": {}})
    env = {"RMAPPLY_TOKEN": "", "NO_COLOR": "1"}
    apply(tmp_path, env, "--local")
    assert (tmp_path / ".rmapply" / "emulator.sqlite3").is_file()
    job = remote_id(tmp_path, "jobs.site-a", local=True)
    # a separate invocation refreshes every job from the same emulator data: nothing to do
    code, out, err = run("plan", "-C", str(tmp_path), "--local", "--detailed-exitcode", env=env)
    assert (code, err) == (0, ""), out
    assert "No changes: 3 resource(s) match the manifests." in out
    code, out, _ = run("status", "-C", str(tmp_path), "--local", "jobs.site-a", env=env)
    assert (code, out) == (0, f"jobs.site-a: unsubmitted [id={job}] estimated cost 3\n")
    # the job exists only there: an emulator without that data sees it gone and re-creates it
    (tmp_path / ".rmapply" / "emulator.sqlite3").unlink()
    code, out, err = run("plan", "-C", str(tmp_path), "--local", env=env)
    assert (code, out) == (1, "")  # every resource gone at once: refused without consent
    assert f"  jobs.site-a: GET /jobs/{job} answered 404 JobNotFound\n" in err
    code, out, _ = run("plan", "-C", str(tmp_path), "--local", "--allow-mass-removal", env=env)
    assert f"  jobs.site-a (job {job}): no longer exists remotely (404)" in out
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete; estimated cost 3." in out
    assert state_of(tmp_path, local=True)["resources"]["jobs.site-a"]["remote_id"] == job
    assert not (tmp_path / "rmapply.state.json").exists()


@pytest.mark.parametrize(
    ("url", "problem"),
    [("http://[::1/contextcapture", "Invalid IPv6 URL"), ("http://127.0.0.1:99999/x", "Port")],
)
def test_an_endpoint_that_does_not_parse_is_a_clear_error_naming_where_it_came_from(
    tmp_path: Path, itwin_id: str, emulator: Emulator, token: str, url: str, problem: str
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    env = {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}
    apply(tmp_path, env)
    state = (tmp_path / "rmapply.state.json").read_bytes()
    typed = "http://user:hunter2@" + url.removeprefix("http://")
    for args, source in (
        (["plan", "-C", str(tmp_path)], "RMAPPLY_ENDPOINT"),
        (["plan", "-C", str(tmp_path), "--endpoint", typed], "--endpoint"),
        (["state", "rebind", "-C", str(tmp_path), "--endpoint", typed], "--endpoint"),
    ):
        code, out, err = run(*args, env={**env, "RMAPPLY_ENDPOINT": typed})
        assert (code, out) == (1, ""), err
        first = err.splitlines()[0]
        assert first.startswith("Error: endpoint 'http://***@") and f"({source})" in first
        assert problem in first and "hunter2" not in err and "Traceback" not in err
        assert err.splitlines()[1].startswith("Hint: ")
    assert (tmp_path / "rmapply.state.json").read_bytes() == state
