"""A state knows where it lives: commands against another endpoint refuse it (exit 1, naming both),
`state rebind` moves it only to an endpoint that answers the recorded ids, an old state is bound
only once its ids were read back, and --local keeps a state of its own."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rmapply.emulator import Emulator, EmulatorOptions
from tests.cli.project import apply, run, state_of, write_project
from tests.cli.test_serve import serving
from tests.client.plain_server import PlainServer
from tests.conftest import FAST

JOBS = {"site-a": {"submit": "false"}, "site-b": {"submit": "false"}}


@pytest.fixture
def home(emulator: Emulator, tmp_path: Path, itwin_id: str, token: str) -> Path:
    """A project applied to ``emulator``: its state is bound there."""
    write_project(tmp_path, itwin_id, JOBS)
    apply(tmp_path, _env(emulator.base_url, token))
    return tmp_path


@pytest.fixture
def other(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """Another emulator instance: another port, so another endpoint, that knows no job."""
    return emulator_factory(EmulatorOptions(speed=FAST))


def _env(endpoint: str, token: str = "t") -> dict[str, str]:
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": endpoint, "NO_COLOR": "1"}


def _state_file(folder: Path) -> Path:
    return folder / "rmapply.state.json"


def _unbind(folder: Path) -> dict[str, Any]:
    """Rewrite the state as format version 1 wrote it (no endpoint, no iTwin); the new JSON."""
    state = state_of(folder)
    del state["endpoint"], state["itwin_id"]
    state["version"] = 1
    _state_file(folder).write_text(json.dumps(state, indent=2), encoding="utf-8")
    return state


COMMANDS = [
    ["plan"],
    ["plan", "--no-refresh"],
    ["plan", "--out", "{dir}/plan.json"],
    ["apply", "--auto-approve"],
    ["refresh"],
    ["status"],
    ["wait"],
    ["import", "jobs.site-a", "0f5c6b2e-0000-4000-8000-000000000001"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c).replace("{dir}/", ""))
def test_commands_refuse_a_state_bound_to_another_endpoint(
    home: Path, emulator: Emulator, other: Emulator, command: list[str]
) -> None:
    state = _state_file(home)
    before = state.read_bytes()
    assert json.loads(before)["endpoint"] == emulator.base_url
    command = [part.replace("{dir}", str(home)) for part in command]
    code, out, err = run(*command, "-C", str(home), env=_env(other.base_url))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"Error: state file {state} belongs to endpoint {emulator.base_url}, but this command "
        f"talks to {other.base_url}; nothing was read or changed",
        "Hint: use the endpoint the state belongs to (--endpoint, RMAPPLY_ENDPOINT or [api] "
        "endpoint); if the service really moved, run 'rmapply state rebind --endpoint "
        f"{other.base_url}' (it checks that the new endpoint knows the recorded ids); see "
        "docs/state.md#binding",
    ]
    assert state.read_bytes() == before
    assert other.request_count() == 0 and other.jobs() == []
    assert not (home / "plan.json").exists()


def test_plan_against_the_bound_endpoint_spelled_otherwise_is_accepted(
    home: Path, emulator: Emulator
) -> None:
    spelled = emulator.base_url.replace("127.0.0.1", "user:s3cret@127.0.0.1") + "/"
    code, out, err = run("plan", "-C", str(home), "--detailed-exitcode", env=_env(spelled))
    assert (code, err) == (0, ""), out


def test_userinfo_of_an_endpoint_never_reaches_the_state_or_a_message(
    tmp_path: Path, itwin_id: str, emulator: Emulator, other: Emulator
) -> None:
    write_project(tmp_path, itwin_id, JOBS)
    secret = emulator.base_url.replace("http://", "http://robot:s3cret@")
    apply(tmp_path, _env(secret))
    text = _state_file(tmp_path).read_text("utf-8")
    assert json.loads(text)["endpoint"] == emulator.base_url
    assert "s3cret" not in text and "robot" not in text
    wrong = other.base_url.replace("http://", "http://robot:s3cret@") + "?token=s3cret"
    code, out, err = run("plan", "-C", str(tmp_path), env=_env(wrong))
    assert code == 1
    assert f"talks to {other.base_url};" in err
    assert "s3cret" not in out + err and "robot" not in out + err


@pytest.fixture
def moved(tmp_path: Path, itwin_id: str) -> Iterator[tuple[Path, str, str]]:
    """The project applied to `rmapply serve` over a data file, then the service restarted on
    another port with the same data: (project, old URL, new URL)."""
    project = tmp_path / "project"
    project.mkdir()
    write_project(project, itwin_id, JOBS)
    data = str(tmp_path / "service.sqlite3")
    with serving("--data", data, "--speed", "1000") as (_, old):
        apply(project, _env(old))
    with serving("--data", data, "--speed", "1000") as (_, new):
        assert new != old
        yield project, old, new


def test_rebind_binds_to_an_endpoint_that_answers_the_recorded_ids(
    moved: tuple[Path, str, str],
) -> None:
    project, old, new = moved
    assert run("plan", "-C", str(project), env=_env(new))[0] == 1  # refused before the rebind
    serial = state_of(project)["serial"]
    code, out, err = run("state", "rebind", "-C", str(project), "--endpoint", new, env=_env(old))
    assert (code, err) == (0, ""), out
    assert out == (
        f"State bound to {new}, iTwin {state_of(project)['itwin_id']} (was {old}); 3 recorded "
        "id(s) answered there: jobs.site-a, jobs.site-b, workspaces.main.\n"
    )
    state = state_of(project)
    assert (state["endpoint"], state["serial"]) == (new, serial + 1)
    code, out, err = run("plan", "-C", str(project), "--detailed-exitcode", env=_env(new))
    assert (code, err) == (0, ""), out
    assert "No changes" in out


def test_rebind_refuses_an_endpoint_that_does_not_know_the_ids(
    home: Path, emulator: Emulator, other: Emulator
) -> None:
    state = _state_file(home)
    before = state.read_bytes()
    code, out, err = run(
        "state", "rebind", "-C", str(home), "--endpoint", other.base_url, env=_env(other.base_url)
    )
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == (
        f"Error: {other.base_url} did not answer the ids recorded in state file {state} as the "
        "Reality Modeling API does; the state was not changed:"
    )
    assert len(lines) == 5 and "404 JobNotFound" in lines[1] and "404 WorkspaceNotFound" in lines[3]
    assert lines[1].startswith("  jobs.site-a (job ")
    assert state.read_bytes() == before


def test_rebind_refuses_an_endpoint_answering_html(home: Path) -> None:
    state = _state_file(home)
    before = state.read_bytes()
    with PlainServer(200, b"<html><body>Welcome</body></html>", "text/html") as server:
        url = server.url
        code, _, err = run("state", "rebind", "-C", str(home), "--endpoint", url, env=_env(url))
    assert code == 1
    assert f"Error: {url} did not answer the ids recorded" in err
    assert "could not be read as JobResponse: the body is not JSON" in err
    assert state.read_bytes() == before


def test_an_old_state_is_bound_only_once_its_ids_were_read_back(
    home: Path, emulator: Emulator, other: Emulator
) -> None:
    old = _unbind(home)
    env = _env(emulator.base_url)
    # reading nothing remote binds nothing, even under the lock
    code, _, err = run(
        "plan", "-C", str(home), "--no-refresh", "--out", str(home / "p.json"), env=env
    )
    assert code == 0, err
    assert state_of(home) == old
    # an endpoint that answers no recorded id (HTML) binds nothing either
    with PlainServer(200, b"<html>proxy</html>", "text/html") as server:
        run("refresh", "-C", str(home), env=_env(server.url))
    assert "endpoint" not in state_of(home)
    # a refresh that reads the recorded ids back binds, and writes format version 2
    code, out, err = run("refresh", "-C", str(home), env=env)
    assert (code, err) == (0, ""), out
    state = state_of(home)
    assert (state["version"], state["endpoint"]) == (2, emulator.base_url)
    assert state["serial"] == old["serial"] + 1
    assert run("plan", "-C", str(home), env=_env(other.base_url))[0] == 1


def test_plan_out_binds_an_old_state_once_its_ids_were_read_back(
    home: Path, emulator: Emulator
) -> None:
    _unbind(home)
    code, _, err = run(
        "plan", "-C", str(home), "--out", str(home / "p.json"), env=_env(emulator.base_url)
    )
    assert code == 0, err
    assert state_of(home)["endpoint"] == emulator.base_url
    code, out, err = run(
        "apply", "-C", str(home), str(home / "p.json"), env=_env(emulator.base_url)
    )
    assert (code, err) == (0, ""), out  # the saved plan names the state as bound


def test_local_never_reads_or_writes_the_real_state_file(home: Path, itwin_id: str) -> None:
    state = _state_file(home)
    before = state.read_bytes()
    env = {"RMAPPLY_TOKEN": "", "NO_COLOR": "1"}
    code, out, err = run("plan", "-C", str(home), "--local", env=env)
    assert (code, err) == (0, ""), out
    assert "Plan: 3 to create" in out  # the rehearsal starts from its own, empty state
    apply(home, env, "--local")
    assert state.read_bytes() == before
    local = state_of(home, local=True)
    assert local["endpoint"] == "local:.rmapply/emulator.sqlite3"
    assert local["itwin_id"] == itwin_id
    # output reads the state asked for: the rehearsal's ids with --local, the real ones without
    local_id = local["resources"]["jobs.site-a"]["remote_id"]
    real_id = state_of(home)["resources"]["jobs.site-a"]["remote_id"]
    assert f"jobs.site-a: {local_id}" in run("output", "-C", str(home), "--local")[1]
    assert f"jobs.site-a: {real_id}" in run("output", "-C", str(home))[1]
    # a project without a real state yet (no file, no traces of one) points at the rehearsal's
    for trace in home.glob("rmapply.state.json*"):
        shutil.rmtree(trace) if trace.is_dir() else trace.unlink()
    code, out, err = run("output", "-C", str(home))
    assert (code, out) == (0, "")
    assert err.splitlines()[1] == (
        f"(a --local rehearsal has its own state: 'rmapply output -C {home} --local')"
    )
    # the port of the embedded emulator changes every run; its state still matches
    code, out, err = run("plan", "-C", str(home), "--local", "--detailed-exitcode", env=env)
    assert (code, err) == (0, ""), out


def test_rebind_to_another_itwin_refuses_jobs_of_the_old_one(
    home: Path, emulator: Emulator, itwin_id: str
) -> None:
    new_itwin = "0e4e3c3a-6f0a-4a54-9d1c-5a8b9f0c2d11"
    write_project(home, new_itwin, JOBS)
    env = _env(emulator.base_url)
    code, _, err = run("plan", "-C", str(home), env=env)
    assert code == 1
    assert f"belongs to iTwin {itwin_id}, but [project] iTwinId is {new_itwin}" in err
    before = _state_file(home).read_bytes()
    code, _, err = run("state", "rebind", "-C", str(home), "--itwin", new_itwin, env=env)
    assert code == 1
    assert f"it belongs to iTwin {itwin_id}, not {new_itwin}" in err
    assert _state_file(home).read_bytes() == before


def test_rebind_without_a_state_or_a_target_says_so(tmp_path: Path, itwin_id: str) -> None:
    write_project(tmp_path, itwin_id, JOBS)
    code, _, err = run("state", "rebind", "-C", str(tmp_path))
    assert code == 1
    assert err.startswith("Error: state rebind needs --endpoint URL or --itwin ID\n")
    code, _, err = run("state", "rebind", "-C", str(tmp_path), "--endpoint", "http://x.test/cc")
    assert code == 1
    assert err.startswith(f"Error: there is no state file {_state_file(tmp_path)} to rebind\n")
    assert not _state_file(tmp_path).exists()


def test_output_local_before_any_rehearsal_names_the_command_that_makes_one(home: Path) -> None:
    code, out, err = run("output", "-C", str(home), "--local")
    assert (code, out) == (0, "")
    assert err == (
        f"No resources in the --local state {home}/.rmapply/local/state.json yet; "
        f"'rmapply apply -C {home} --local' creates them.\n"
    )


def test_a_deleted_local_state_is_restored_with_local_never_touching_the_real_one(
    home: Path,
) -> None:
    state = _state_file(home)
    env = {"RMAPPLY_TOKEN": "", "NO_COLOR": "1"}
    apply(home, env, "--local")
    apply(home, env, "--local")  # a second command keeps the rehearsal's state as a version
    local_file = home / ".rmapply" / "local" / "state.json"
    local_id = state_of(home, local=True)["resources"]["jobs.site-a"]["remote_id"]
    local_file.unlink()
    before = state.read_bytes()
    code, out, err = run("plan", "-C", str(home), "--local", env=env)
    assert (code, out) == (1, "")
    # the hint names the rehearsal's state, not the project's real one
    assert f"'rmapply state restore -C {home} --local' restores" in err
    code, out, err = run("state", "versions", "-C", str(home), "--local")
    assert (code, err) == (0, ""), out
    assert f"State file {local_file} is missing." in out
    assert f"'rmapply state restore -C {home} --local VERSION'" in out
    code, out, err = run("state", "restore", "-C", str(home), "--local")
    assert (code, err) == (0, ""), out
    assert f"into {local_file} as serial" in out
    assert state.read_bytes() == before  # the real state was never touched
    assert state_of(home, local=True)["resources"]["jobs.site-a"]["remote_id"] == local_id
    code, out, err = run("plan", "-C", str(home), "--local", "--detailed-exitcode", env=env)
    assert (code, err) == (0, ""), out


def test_ignore_previous_state_with_local_warns_about_the_rehearsals_state_only(
    home: Path,
) -> None:
    env = {"RMAPPLY_TOKEN": "", "NO_COLOR": "1"}
    apply(home, env, "--local")
    local_file = home / ".rmapply" / "local" / "state.json"
    real = _state_file(home)
    real.rename(home / "kept-aside.json")  # the real state missing, beside its traces
    code, out, err = run("plan", "-C", str(home), "--local", "--ignore-previous-state", env=env)
    assert (code, err) == (0, ""), out  # the rehearsal's own state is there: nothing to warn
    (home / "kept-aside.json").rename(real)
    local_file.unlink()
    code, out, err = run("plan", "-C", str(home), "--local", "--ignore-previous-state", env=env)
    assert code == 0, err
    assert err.startswith(f"warning: state file {local_file} is missing: starting from an empty")
    assert "Plan: 3 to create" in out
