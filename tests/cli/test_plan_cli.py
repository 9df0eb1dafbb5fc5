"""rmapply plan and show, against the emulator over real HTTP: exit codes, formats, plan files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmapply.emulator import Emulator
from tests.cli.project import run, write_project
from tests.schemas import assert_valid


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


def test_plan_of_new_project_shows_creates_and_the_estimated_cost(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id)
    code, out, _ = run("plan", "-C", str(tmp_path), env=env)
    assert code == 0
    assert "  + workspaces.main: create" in out
    assert "  + jobs.site-a: create, then submit" in out
    assert out.rstrip().endswith(
        "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete; "
        "estimated cost 3 (includes local estimates)."
    )


def test_plan_detailed_exitcode_is_2_with_changes(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id)
    assert run("plan", "-C", str(tmp_path), "--detailed-exitcode", env=env)[0] == 2


def test_plan_json_is_the_documented_format(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id)
    code, out, _ = run("plan", "-C", str(tmp_path), "--format", "json", env=env)
    assert code == 0
    data = json.loads(out)
    assert_valid("plan", data)
    assert data["formatVersion"] == 2
    assert [(a["address"], a["action"], a["reasonCode"]) for a in data["actions"]] == [
        ("workspaces.main", "create", "new"),
        ("jobs.site-a", "create", "new"),
    ]


def test_plan_markdown_starts_with_the_summary(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id)
    code, out, _ = run("plan", "-C", str(tmp_path), "--format", "markdown", env=env)
    assert code == 0
    assert "2 to create" in out.splitlines()[0] + out.splitlines()[2]
    assert "<details>" in out


def test_plan_out_saves_a_plan_that_show_prints_without_secrets(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    (tmp_path / "p").mkdir()
    project = write_project(tmp_path / "p", itwin_id)
    planfile = tmp_path / "plan.json"
    code, out, _ = run("plan", "-C", str(project), "--out", str(planfile), env=env)
    assert code == 0
    assert f"Saved the plan to {planfile}" in out
    text = planfile.read_text(encoding="utf-8")
    assert env["RMAPPLY_TOKEN"] not in text
    code, out, _ = run("show", str(planfile), env=env)
    assert code == 0
    assert "  + jobs.site-a: create, then submit" in out


def test_plan_fails_above_max_cost_with_the_total_and_the_limit(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id)
    code, out, err = run("plan", "-C", str(tmp_path), "--max-cost", "1", env=env)
    assert code == 1
    assert out == ""
    assert err.startswith("Error: ")
    assert err.startswith(
        "Error: the plan's estimated cost 3 (includes local estimates) is above the budget of 1"
    )


def test_plan_without_credentials_says_how_to_set_them(tmp_path: Path, itwin_id: str) -> None:
    write_project(tmp_path, itwin_id)
    code, _, err = run("plan", "-C", str(tmp_path), env={"RMAPPLY_TOKEN": ""})
    assert code == 1
    assert err.splitlines()[0] == "Error: no credentials for the Reality Modeling API"
    assert "RMAPPLY_TOKEN" in err


def test_plan_no_refresh_needs_no_credentials(tmp_path: Path, itwin_id: str) -> None:
    write_project(tmp_path, itwin_id)
    code, out, _ = run("plan", "-C", str(tmp_path), "--no-refresh", env={"RMAPPLY_TOKEN": ""})
    assert code == 0
    assert "2 to create" in out


def test_plan_outside_a_project_names_the_missing_file(tmp_path: Path) -> None:
    code, _, err = run("plan", "-C", str(tmp_path), "--no-refresh")
    assert code == 1
    assert err.splitlines()[0] == f"Error: no rmapply.toml in {tmp_path}"


def test_plan_with_unreachable_endpoint_is_a_clear_error(tmp_path: Path, itwin_id: str) -> None:
    write_project(tmp_path, itwin_id)
    code, _, err = run(
        "plan",
        "-C",
        str(tmp_path),
        "--endpoint",
        "http://127.0.0.1:9/contextcapture",
        env={"RMAPPLY_TOKEN": "t"},
    )
    # nothing in state: the refresh has nothing to read, so the plan still works offline
    assert code == 0, err


def test_show_of_a_file_that_is_not_a_plan(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{}", encoding="utf-8")
    code, _, err = run("show", str(bad))
    assert code == 1
    assert err.splitlines()[0] == f'Error: {bad}: not a plan file (no "format": "rmapply-plan")'
