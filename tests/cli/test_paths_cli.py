"""Paths: command-line paths are relative to the current directory, rmapply.toml's to -C."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmapply.emulator import Emulator
from tests.cli.project import run, write_project

PROJECT = "../projects/site"  # -C as a user gives it, from a sibling working directory
TEMPLATE = """\
[jobs.templated]
type = "Full"
name = "Templated"
workspace = "main"
inputs = [{{ id = "{photos}" }}]
[jobs.templated.settings]
quality = "{{{{ quality }}}}"
outputs = ["OBJ"]
"""


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def project(tmp_path: Path, itwin_id: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project in tmp/projects/site; the current directory is tmp/work."""
    folder = tmp_path / "projects" / "site"
    folder.mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return write_project(folder, itwin_id, extra_config='[state]\npath = "st/state.json"\n')


def test_out_is_written_relative_to_the_current_directory(
    project: Path, env: dict[str, str]
) -> None:
    code, out, err = run("plan", "-C", PROJECT, "--out", "saved.plan", env=env)
    assert code == 0, err
    assert Path("saved.plan").is_file()
    assert not (project / "saved.plan").exists()
    assert f"'rmapply apply -C {PROJECT} saved.plan'" in out


def test_a_plan_file_argument_is_read_relative_to_the_current_directory(
    project: Path, env: dict[str, str]
) -> None:
    assert run("plan", "-C", PROJECT, "--out", "saved.plan", env=env)[0] == 0
    code, out, err = run("show", "saved.plan", "-C", PROJECT, env=env)
    assert code == 0, err
    assert "jobs.site-a" in out
    code, out, err = run("apply", "-C", PROJECT, "saved.plan", env=env)
    assert code == 0, (out, err)
    assert (
        "jobs.site-a" in json.loads((project / "st" / "state.json").read_text("utf-8"))["resources"]
    )


def test_var_file_is_read_relative_to_the_current_directory(project: Path) -> None:
    (project / "jobs" / "templated.toml.j2").write_text(
        TEMPLATE.format(photos="8a3b1c2d-0000-4000-8000-0000000000aa"), encoding="utf-8"
    )
    Path("vars").mkdir()
    Path("vars/prod.yaml").write_text("quality: Extra\n", encoding="utf-8")
    (project / "vars").mkdir()
    (project / "vars" / "prod.yaml").write_text("quality: Draft\n", encoding="utf-8")  # not it
    code, out, err = run(
        "render", "-C", PROJECT, "--format", "json", "--var-file", "vars/prod.yaml", "--no-cache"
    )
    assert code == 0, err
    assert json.loads(out)["jobs"]["templated"]["settings"]["quality"] == "Extra"


def test_a_var_file_found_only_under_the_project_is_named_in_a_did_you_mean(
    project: Path,
) -> None:
    (project / "vars").mkdir()
    (project / "vars" / "prod.yaml").write_text("quality: High\n", encoding="utf-8")
    code, _, err = run("validate", "-C", PROJECT, "--var-file", "vars/prod.yaml")
    assert code == 1
    assert (
        f"vars/prod.yaml is not in the current directory; did you mean {PROJECT}/vars/prod.yaml?"
        in err
    )


def test_state_path_in_rmapply_toml_is_relative_to_the_project(
    project: Path, env: dict[str, str]
) -> None:
    code, out, err = run("apply", "-C", PROJECT, "--auto-approve", env=env)
    assert code == 0, (out, err)
    assert (project / "st" / "state.json").is_file()
    assert not Path("st").exists()
    code, out, err = run("state", "list", "-C", PROJECT, env=env)
    assert code == 0, err
    assert "jobs.site-a" in out
