"""rmapply validate / render / schema / init through click's CliRunner."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from rmapply.cli import cli
from rmapply.cli.plan import NO_REFRESH_NOTE
from rmapply.manifests import load_manifests
from tests.reference import REPO

EXAMPLE = str(REPO / "manifests")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env or {})
    return result.exit_code, result.stdout, result.stderr


def test_validate_the_example_prints_a_summary() -> None:
    assert run("validate", "-C", EXAMPLE, "--no-cache") == (
        0,
        "Valid: 1 workspace, 6 jobs, 0 warnings in 4 files.\n",
        "",
    )


def test_validate_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "jobs:\n  a: {type: Ful, name: a, workspaceId: w, inputs: [{id: x}],\n"
        "      settings: {quality: Draft, outputs: [Cesium3DTiles]}}\n"
    )
    (tmp_path / "b.toml").write_text("[jobs\n")
    code, out, err = run("validate", "-C", str(tmp_path), "--no-cache")
    assert (code, out) == (1, "")
    # every problem of job a together: its type, its ids, its outputs
    assert err == (
        "Error: 5 problems in the manifests:\n"
        "a.yaml:2:7: jobs.a.type: 'Ful' is not a job type; did you mean 'Full'?\n"
        "a.yaml:2:27: jobs.a.workspaceId: 'w' is not a workspace id (a GUID like "
        "3fa85f64-5717-4562-b3fc-2c963f66afa6); a workspace of the manifests is named with "
        "'workspace = \"KEY\"'\n"
        "a.yaml:2:53: jobs.a.inputs[0].id: 'x' is not a reality-data id (a GUID like "
        "3fa85f64-5717-4562-b3fc-2c963f66afa6)\n"
        "a.yaml:3:44: jobs.a.settings.outputs[0]: 'Cesium3DTiles' is not an output format; "
        "did you mean 'Cesium 3D Tiles'?\n"
        "b.toml:1:6: invalid TOML: Expected ']' at the end of a table declaration\n"
        "Hint: fix the places named above and run 'rmapply validate' again\n"
    )


def test_validate_with_a_missing_required_field(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("jobs:\n  a: {type: Ful}\n")
    code, _, err = run("validate", "-C", str(tmp_path), "--no-cache")
    assert code == 1
    assert err.splitlines()[1:4] == [
        "a.yaml:2:3: jobs.a.inputs: required field is missing",
        "a.yaml:2:3: jobs.a.name: required field is missing",
        "a.yaml:2:3: jobs.a.settings: required field is missing",
    ]
    assert "a.yaml:2:7: jobs.a.type: 'Ful' is not a job type; did you mean 'Full'?" in err


def test_warnings_are_printed_and_do_not_fail(tmp_path: Path) -> None:
    job = (
        "{type: Full, name: Same, workspaceId: 6881117d-9fd2-4900-870b-9b721dc90f25, "
        "inputs: [{id: 58e0c0ca-f730-4e5b-808d-1c8cacacb4d4}], "
        "settings: {quality: Draft, outputs: [OBJ]}}"
    )
    (tmp_path / "a.yaml").write_text(f"jobs:\n  a: {job}\n  b: {job}\n")
    code, out, err = run("validate", "-C", str(tmp_path), "--no-cache")
    assert code == 0
    assert out == "Valid: 0 workspaces, 2 jobs, 1 warning in 1 file.\n"
    assert err == (
        "a.yaml:3:19: warning: jobs.b.name: job name 'Same' is also used by jobs.a in "
        "workspaceId 6881117d-9fd2-4900-870b-9b721dc90f25\n"
    )


def test_var_and_var_file_options_reach_the_templates() -> None:
    code, out, _ = run(
        "render",
        "-C",
        EXAMPLE,
        "--format",
        "json",
        "--var-file",
        f"{EXAMPLE}/vars/prod.yaml",
        "--var",
        "engines=3",
        "--no-cache",
    )
    assert code == 0
    document = json.loads(out)
    assert document["jobs"]["bridge-south"]["settings"]["quality"] == "Extra"
    assert document["jobs"]["bridge-south"]["settings"]["processingEngines"] == 3


def test_environment_variables_are_template_variables() -> None:
    code, out, _ = run(
        "render",
        "-C",
        EXAMPLE,
        "--format",
        "json",
        "--no-cache",
        env={"RMAPPLY_VAR_quality": "Draft"},
    )
    assert code == 0
    assert json.loads(out)["jobs"]["viaduct-east"]["settings"]["quality"] == "Draft"


def test_bad_var_is_a_usage_error_with_exit_1() -> None:
    code, _, err = run("validate", "-C", EXAMPLE, "--var", "novalue")
    assert code == 1
    assert "'novalue' is not NAME=VALUE" in err


@pytest.mark.parametrize("fmt", ["toml", "yaml", "json"])
def test_render_output_is_itself_a_valid_manifest(tmp_path: Path, fmt: str) -> None:
    code, out, _ = run("render", "-C", EXAMPLE, "--format", fmt, "--no-cache")
    assert code == 0
    (tmp_path / "rmapply.toml").write_text((REPO / "manifests" / "rmapply.toml").read_text())
    (tmp_path / f"all.{'toml' if fmt == 'toml' else 'yaml'}").write_text(out)
    original = load_manifests(REPO / "manifests", environ={}, use_cache=False).desired
    again = load_manifests(tmp_path, environ={}, use_cache=False).desired
    assert {a: j.spec for a, j in again.jobs.items()} == {
        a: j.spec for a, j in original.jobs.items()
    }
    assert {a: w.spec for a, w in again.workspaces.items()} == {
        a: w.spec for a, w in original.workspaces.items()
    }


def test_schema_is_json_schema_that_accepts_the_rendered_example() -> None:
    code, out, _ = run("schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    _, rendered, _ = run("render", "-C", EXAMPLE, "--format", "json", "--no-cache")
    jsonschema.validate(json.loads(rendered), schema)
    broken = json.loads(rendered)
    broken["jobs"]["site-a"]["settings"]["outputs"] = ["Cesium3DTiles"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    both = json.loads(rendered)
    both["jobs"]["site-a"]["workspaceId"] = "w"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(both, schema)


def test_schema_accepts_a_hand_written_yaml_manifest() -> None:
    schema = json.loads(run("schema")[1])
    document = yaml.safe_load(
        (Path(__file__).parent.parent / "manifests" / "golden" / "features.yaml").read_text()
    )
    jsonschema.validate(document, schema)


def test_init_scaffolds_a_project_that_validates(tmp_path: Path) -> None:
    code, out, _ = run(
        "init", "-C", str(tmp_path), "new", "--itwin-id", "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    )
    assert code == 0
    target = tmp_path / "new"
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        ".gitignore",
        "jobs/first.yaml.j2",
        "rmapply.toml",
        "workspaces.toml",
    ]
    assert out.endswith(f"Next: rmapply validate -C {target}\n")
    assert run("validate", "-C", str(target))[:2] == (
        0,
        "Valid: 1 workspace, 1 job, 0 warnings in 2 files.\n",
    )


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "rmapply.toml").write_text("# mine\n")
    code, _, err = run("init", str(tmp_path))
    assert code == 1
    assert err == (
        f"Error: refusing to overwrite existing files in {tmp_path}: rmapply.toml\n"
        "Hint: run 'rmapply init' in an empty directory or remove those files\n"
    )
    assert (tmp_path / "rmapply.toml").read_text() == "# mine\n"
    assert not (tmp_path / "workspaces.toml").exists()


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert run("validate", "-C", str(missing)) == (
        1,
        "",
        f"Error: manifests directory {str(missing)!r} does not exist or is not a directory\n"
        "Hint: pass the directory with -C/--dir\n",
    )


def test_init_keeps_an_existing_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc\n")
    code, out, _ = run("init", str(tmp_path))
    assert code == 0
    assert out.startswith(f"kept {tmp_path / '.gitignore'}: add '.rmapply/' to it")
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n"
    assert (tmp_path / "rmapply.toml").is_file()


def test_init_project_plans_without_network(tmp_path: Path) -> None:
    assert run("init", str(tmp_path / "p"))[0] == 0
    code, out, err = run("plan", "-C", str(tmp_path / "p"), "--no-refresh")
    assert (code, err) == (0, NO_REFRESH_NOTE + "\n")
    assert "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete" in out


@pytest.mark.parametrize("name", ["workspaces.toml", "jobs/site-a.toml"])
def test_schema_accepts_the_example_files_as_an_editor_reads_them(name: str) -> None:
    schema = json.loads(run("schema")[1])
    document = tomllib.loads((REPO / "manifests" / name).read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)


def test_schema_accepts_what_init_renders(tmp_path: Path) -> None:
    run("init", str(tmp_path))
    code, out, _ = run("render", "-C", str(tmp_path), "--format", "json")
    assert code == 0
    jsonschema.validate(json.loads(out), json.loads(run("schema")[1]))


def test_validate_an_empty_directory_fails_with_a_hint(tmp_path: Path) -> None:
    assert run("validate", "-C", str(tmp_path)) == (
        1,
        "",
        f"Error: 1 problem in the manifests:\n{tmp_path}: no manifests: no *.toml, *.yaml or "
        "*.yml file (or .j2 template) outside _partials, .hidden folders, vars/ and "
        "rmapply.toml\nHint: pass -C with the manifests directory, or 'rmapply init' a new "
        "project; to ask for no resources at all, keep one empty manifest (e.g. "
        "workspaces.toml)\n",
    )


def test_a_link_loop_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "workspaces.toml").write_text("")
    os.symlink("loop.yaml", tmp_path / "loop.yaml")
    assert run("validate", "-C", str(tmp_path)) == (
        1,
        "",
        "Error: 1 problem in the manifests:\nloop.yaml: is a link that is broken or loops\n"
        "Hint: fix the places named above and run 'rmapply validate' again\n",
    )


def test_render_of_a_broken_directory_prints_nothing_on_stdout(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("jobs:\n  a: [\n")
    code, out, err = run("render", "-C", str(tmp_path), "--format", "yaml")
    assert (code, out) == (1, "")
    assert err.startswith("Error: 1 problem in the manifests:\na.yaml:3:1: invalid YAML:")


def test_init_refuses_an_itwin_id_that_is_not_a_guid(tmp_path: Path) -> None:
    assert run("init", str(tmp_path), "--itwin-id", 'x" = 1') == (
        1,
        "",
        "Error: --itwin-id 'x\" = 1' is not an iTwin id (a GUID like 3fa85f64-5717-...)\n"
        "Hint: copy the id of your iTwin, or leave the option out and edit rmapply.toml later\n",
    )
    assert list(tmp_path.iterdir()) == []
