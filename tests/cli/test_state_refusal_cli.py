"""A state file that does not parse, fails its schema or comes from a newer rmapply is refused
by every command that reads it: exact message, exit 1, the file and its backup untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmapply.emulator import Emulator
from tests.cli.project import apply, run, write_project

COMMANDS = [
    pytest.param(["plan"], [], id="plan"),
    pytest.param(["plan"], ["--no-refresh"], id="plan --no-refresh"),
    pytest.param(["plan"], ["--out", "{dir}/plan.json"], id="plan --out"),
    pytest.param(["refresh"], [], id="refresh"),
    pytest.param(["import"], ["jobs.site-a", "some-id"], id="import"),
    pytest.param(["state", "list"], [], id="state list"),
    pytest.param(["state", "show"], ["jobs.site-a"], id="state show"),
    pytest.param(["state", "rm"], ["jobs.site-a"], id="state rm"),
    pytest.param(["state", "mv"], ["jobs.site-a", "jobs.site-b"], id="state mv"),
    pytest.param(["state", "forget-intent"], ["jobs.site-a"], id="state forget-intent"),
    pytest.param(["output"], [], id="output"),
    pytest.param(["output"], ["--json", "jobs.site-a"], id="output --json ADDRESS"),
]


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def project(tmp_path: Path, itwin_id: str, env: dict[str, str]) -> Path:
    """A project applied twice, so that the state file has a backup."""
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    apply(tmp_path, env)
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false", "quality": "Extra"}})
    apply(tmp_path, env)
    assert (tmp_path / "rmapply.state.json.backup").exists()
    return tmp_path


def _refused(
    project: Path, env: dict[str, str], command: list[str], args: list[str]
) -> tuple[str, ...]:
    state = project / "rmapply.state.json"
    backup = project / "rmapply.state.json.backup"
    before = (state.read_bytes(), backup.read_bytes())
    args = [a.replace("{dir}", str(project)) for a in args]
    code, out, err = run(*command, "-C", str(project), *args, env=env)
    assert (code, out) == (1, ""), err
    assert (state.read_bytes(), backup.read_bytes()) == before
    assert not (project / "plan.json").exists()
    return tuple(err.splitlines())


@pytest.mark.parametrize(("command", "args"), COMMANDS)
def test_state_file_that_is_not_json_is_refused_and_kept(
    project: Path, env: dict[str, str], command: list[str], args: list[str]
) -> None:
    state = project / "rmapply.state.json"
    state.write_text('{"version": 1, "resources": ', encoding="utf-8")
    assert _refused(project, env, command, args) == (
        f"Error: state file {state} is not valid JSON (line 1, column 29: Expecting value)",
        f"Hint: the file was not changed; the previous version is kept in {state}.backup: if it"
        " reads well, bring it back with 'rmapply state restore backup' (the refused file is kept"
        " among the versions; see docs/state.md#recovery)",
    )


@pytest.mark.parametrize(("command", "args"), COMMANDS)
def test_state_file_of_a_newer_format_is_refused_and_kept(
    project: Path, env: dict[str, str], command: list[str], args: list[str]
) -> None:
    state = project / "rmapply.state.json"
    data = json.loads(state.read_text("utf-8"))
    data.update(version=3, locks={"new": "field"})
    state.write_text(json.dumps(data), encoding="utf-8")
    assert _refused(project, env, command, args) == (
        f"Error: state file {state} has format version 3, but this rmapply reads format version"
        " 2 at most",
        "Hint: upgrade rmapply to the version that wrote it; the file was not changed",
    )


def test_state_file_that_fails_its_schema_lists_every_problem(
    project: Path, env: dict[str, str]
) -> None:
    state = project / "rmapply.state.json"
    data = json.loads(state.read_text("utf-8"))
    data["serial"] = "seven"
    data["resources"]["jobs.site-a"]["kind"] = "task"
    state.write_text(json.dumps(data), encoding="utf-8")
    assert _refused(project, env, ["plan"], [])[:3] == (
        f"Error: state file {state} does not match the state format:",
        "  serial: Input should be a valid integer, unable to parse string as an integer",
        "  resources.jobs.site-a.kind: Input should be 'job' or 'workspace'",
    )


def test_empty_state_file_is_refused_not_taken_for_a_new_state(
    project: Path, env: dict[str, str]
) -> None:
    state = project / "rmapply.state.json"
    state.write_bytes(b"")
    assert _refused(project, env, ["state", "rm"], ["jobs.site-a"])[0] == (
        f"Error: state file {state} is empty, but traces of an earlier state are beside it; "
        "nothing was read or changed:"
    )
