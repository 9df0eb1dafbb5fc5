"""import, refresh, state list/show/rm/mv and output, against the emulator over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.emulator import Emulator
from tests.cli.project import photos_id, run, write_project
from tests.schemas import assert_valid


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def client(emulator: Emulator, token: str) -> RealityModelingClient:
    """A client of the emulator, to make jobs outside rmapply."""
    return RealityModelingClient(emulator.base_url, StaticToken(token))


def _existing_job(
    client: RealityModelingClient, itwin_id: str, quality: str = "Medium"
) -> wire.Job:
    workspace = client.create_workspace(wire.WorkspaceCreation(name="Main", i_twin_id=itwin_id))
    return client.create_job(
        wire.JobCreation.from_wire(
            {
                "type": "Full",
                "name": "Site site-a",
                "workspaceId": workspace.id,
                "inputs": [{"id": photos_id("site-a"), "description": "drone photos"}],
                "settings": {"quality": quality, "outputs": ["OBJ", "Cesium 3D Tiles"]},
                "costEstimationParameters": {"gigaPixels": 2.0, "megaPoints": 10.0},
            }
        )
    )


def _import(project: Path, job: wire.Job, env: dict[str, str]) -> None:
    assert run("import", "-C", str(project), "workspaces.main", job.workspace_id, env=env)[0] == 0
    code, out, err = run("import", "-C", str(project), "jobs.site-a", job.id, env=env)
    assert (code, out) == (0, f"Imported job {job.id} as jobs.site-a.\n"), err


def test_import_adopts_a_matching_job_and_output_prints_its_ids(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    job = _existing_job(client, itwin_id)
    _import(tmp_path, job, env)
    code, out, _ = run("output", "-C", str(tmp_path), "--format", "json", env=env)
    assert code == 0
    assert_valid("output", json.loads(out))
    entries = json.loads(out)["resources"]
    assert entries["jobs.site-a"]["id"] == job.id
    assert entries["jobs.site-a"]["outputs"] == job.output_ids()
    assert entries["workspaces.main"] == {"kind": "workspace", "id": job.workspace_id}
    code, out, _ = run("plan", "-C", str(tmp_path), "--detailed-exitcode", env=env)
    assert "  > jobs.site-a: submit" in out
    assert code == 2


def test_import_refuses_a_job_that_computes_something_else(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    job = _existing_job(client, itwin_id, quality="Extra")
    run("import", "-C", str(tmp_path), "workspaces.main", job.workspace_id, env=env)
    code, out, err = run("import", "-C", str(tmp_path), "jobs.site-a", job.id, env=env)
    assert (code, out) == (1, "")
    assert err.splitlines()[:2] == [
        f"Error: job {job.id} does not compute what jobs.site-a describes (jobs/site-a.toml:1):",
        '  settings.quality: manifest "Medium", job "Extra"',
    ]
    assert run("state", "list", "-C", str(tmp_path), env=env)[1] == "workspaces.main\n"


def test_import_of_unknown_id_says_there_is_no_such_job(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id)
    code, _, err = run("import", "-C", str(tmp_path), "jobs.site-a", "nope", env=env)
    assert code == 1
    assert err.splitlines()[0].startswith("Error: there is no job nope at http://127.0.0.1:")


def test_refresh_accepts_progress_of_a_submitted_job_into_state(
    tmp_path: Path,
    itwin_id: str,
    env: dict[str, str],
    client: RealityModelingClient,
    emulator: Emulator,
) -> None:
    write_project(tmp_path, itwin_id)
    job = _existing_job(client, itwin_id)
    _import(tmp_path, job, env)
    client.submit_job(job.id)
    emulator.advance(3600)
    code, out, _ = run("refresh", "-C", str(tmp_path), env=env)
    assert code == 0
    assert f"~ jobs.site-a ({job.id})" in out
    assert out.endswith("Refresh: 1 remote change accepted into state.\n")
    shown = json.loads(run("state", "show", "-C", str(tmp_path), "jobs.site-a", env=env)[1])
    assert shown["remote"]["state"] == "success"


def test_refresh_drops_a_job_deleted_remotely(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    job = _existing_job(client, itwin_id)
    _import(tmp_path, job, env)
    client.delete_job(job.id)
    code, out, _ = run("refresh", "-C", str(tmp_path), env=env)
    assert code == 0
    assert f"- jobs.site-a ({job.id}): no longer exists remotely (404)" in out
    assert run("state", "list", "-C", str(tmp_path), env=env)[1] == "workspaces.main\n"


def test_state_mv_and_rm_edit_the_state_only(
    tmp_path: Path,
    itwin_id: str,
    env: dict[str, str],
    client: RealityModelingClient,
    emulator: Emulator,
) -> None:
    write_project(tmp_path, itwin_id)
    job = _existing_job(client, itwin_id)
    _import(tmp_path, job, env)
    assert run("state", "mv", "-C", str(tmp_path), "jobs.site-a", "jobs.site-b", env=env)[0] == 0
    assert run("state", "list", "-C", str(tmp_path), env=env)[1] == (
        "jobs.site-b\nworkspaces.main\n"
    )
    code, out, _ = run("state", "rm", "-C", str(tmp_path), "jobs.site-b", env=env)
    assert code == 0
    assert out == (
        f"Removed jobs.site-b (job {job.id}) from state; the remote object was not touched.\n"
    )
    assert emulator.job(job.id) is not None


def test_state_show_of_unknown_address_suggests_a_close_one(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    _import(tmp_path, _existing_job(client, itwin_id), env)
    code, _, err = run("state", "show", "-C", str(tmp_path), "jobs.site-b", env=env)
    assert code == 1
    assert "did you mean 'jobs.site-a'?" in err


def test_refresh_with_unreachable_endpoint_fails_and_keeps_state(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    _import(tmp_path, _existing_job(client, itwin_id), env)
    state = tmp_path / "rmapply.state.json"
    before = state.read_bytes()
    # the endpoint the state belongs to, down (another one is refused before any call)
    endpoint = json.loads(before)["endpoint"]
    assert endpoint == env["RMAPPLY_ENDPOINT"]
    down = {**env, "RMAPPLY_ENDPOINT": "http://127.0.0.1:9/contextcapture"}
    code, _, err = run("refresh", "-C", str(tmp_path), env=down)
    assert code == 1
    assert "belongs to endpoint" in err
    state.write_bytes(before.replace(endpoint.encode(), down["RMAPPLY_ENDPOINT"].encode()))
    before = state.read_bytes()
    code, _, err = run("refresh", "-C", str(tmp_path), env=down)
    assert code == 1
    assert err.startswith("Error: refresh: no answer from http://127.0.0.1:9/contextcapture")
    assert "--no-refresh" in err
    assert (tmp_path / "rmapply.state.json").read_bytes() == before


def test_output_of_empty_state_says_so(tmp_path: Path, itwin_id: str) -> None:
    write_project(tmp_path, itwin_id)
    assert run("output", "-C", str(tmp_path)) == (
        0,
        "",
        "No resources in state yet; 'rmapply apply' creates them.\n",
    )
    assert json.loads(run("output", "-C", str(tmp_path), "--json")[1]) == {
        "formatVersion": 1,
        "resources": {},
    }


def test_output_of_one_address_prints_its_ids_for_scripts(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    job = _existing_job(client, itwin_id)
    _import(tmp_path, job, env)
    code, out, _ = run("output", "-C", str(tmp_path), "jobs.site-a", "--json", env=env)
    assert code == 0
    assert_valid("output", json.loads(out))
    assert json.loads(out)["resources"] == {
        "jobs.site-a": {
            "kind": "job",
            "id": job.id,
            "state": "unsubmitted",
            "outputs": dict(sorted(job.output_ids().items())),
            "estimatedCost": 3.0,
        }
    }
    code, out, _ = run("output", "-C", str(tmp_path), "jobs.site-a", env=env)
    lines = out.splitlines()
    assert lines[0] == f"jobs.site-a: {job.id} (unsubmitted)"
    assert lines[1:] == [f"  {fmt}: {oid}" for fmt, oid in sorted(job.output_ids().items())]
    code, out, _ = run("output", "-C", str(tmp_path), "workspaces.main", "--json", env=env)
    assert json.loads(out)["resources"] == {
        "workspaces.main": {"kind": "workspace", "id": job.workspace_id}
    }


def test_output_and_state_list_take_the_globs_of_target(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    job = _existing_job(client, itwin_id)
    _import(tmp_path, job, env)
    code, out, _ = run("output", "-C", str(tmp_path), "jobs.*", "--format", "json", env=env)
    assert code == 0
    assert list(json.loads(out)["resources"]) == ["jobs.site-a"]
    code, out, _ = run("output", "-C", str(tmp_path), "jobs.site-?", "workspaces.*", env=env)
    assert (code, out.splitlines()[0]) == (0, f"jobs.site-a: {job.id} (unsubmitted)")
    assert f"workspaces.main: {job.workspace_id}" in out.splitlines()
    assert run("state", "list", "-C", str(tmp_path), "work*", env=env)[:2] == (
        0,
        "workspaces.main\n",
    )
    assert run("state", "list", "-C", str(tmp_path), env=env)[1] == (
        "jobs.site-a\nworkspaces.main\n"
    )


@pytest.mark.parametrize("command", [("output",), ("state", "list")])
def test_a_glob_matching_nothing_in_the_state_is_an_error_with_a_did_you_mean(
    tmp_path: Path,
    itwin_id: str,
    env: dict[str, str],
    client: RealityModelingClient,
    command: tuple[str, ...],
) -> None:
    write_project(tmp_path, itwin_id)
    _import(tmp_path, _existing_job(client, itwin_id), env)
    code, out, err = run(*command, "-C", str(tmp_path), "jobs.site-a", "jobs.sit-*", env=env)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"Error: {' '.join(command)} 'jobs.sit-*' matches no resource in the state",
        "Hint: did you mean 'jobs.site-a'? "
        f"{' '.join(command)} takes an address or a glob such as 'jobs.site-*'",
    ]


def test_state_show_prints_the_record_in_the_json_dialect(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    job = _existing_job(client, itwin_id)
    _import(tmp_path, job, env)
    code, out, _ = run("state", "show", "-C", str(tmp_path), "jobs.site-a", env=env)
    assert code == 0
    data = json.loads(out)
    assert_valid("state-record", data)
    assert (data["formatVersion"], data["remoteId"]) == (1, job.id)
    assert data["remote"]["workspaceId"] == job.workspace_id  # the API's own keys, untouched
    assert run("state", "show", "-C", str(tmp_path), "jobs.site-a", "--format", "json")[1] == out


def test_output_of_an_unknown_address_suggests_a_close_one(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    _import(tmp_path, _existing_job(client, itwin_id), env)
    code, out, err = run("output", "-C", str(tmp_path), "jobs.site-b", "--json", env=env)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"Error: jobs.site-b has no resource in state file {tmp_path / 'rmapply.state.json'}",
        "Hint: did you mean 'jobs.site-a'?",
    ]


def test_state_mv_refuses_another_kind_and_a_taken_address(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    _import(tmp_path, _existing_job(client, itwin_id), env)
    before = (tmp_path / "rmapply.state.json").read_bytes()
    code, _, err = run(
        "state", "mv", "-C", str(tmp_path), "jobs.site-a", "workspaces.site-a", env=env
    )
    assert code == 1
    assert err.splitlines() == [
        "Error: cannot move jobs.site-a to workspaces.site-a: a job stays a job",
        "Hint: choose a destination that starts with 'jobs.'",
    ]
    code, _, err = run("state", "mv", "-C", str(tmp_path), "jobs.site-a", "jobs.Not Valid", env=env)
    assert code == 1 and err.startswith("Error: ")
    assert (tmp_path / "rmapply.state.json").read_bytes() == before
    backup = tmp_path / "rmapply.state.json.backup"
    assert run("state", "rm", "-C", str(tmp_path), "jobs.site-a", env=env)[0] == 0
    assert backup.read_bytes() == before  # the version replaced is kept as the backup


def test_state_file_is_where_rmapply_toml_says_and_private(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id, extra_config='[state]\npath = "state/prod.json"\n')
    _import(tmp_path, _existing_job(client, itwin_id), env)
    state = tmp_path / "state" / "prod.json"
    assert not (tmp_path / "rmapply.state.json").exists()
    assert json.loads(state.read_text("utf-8"))["resources"].keys() == {
        "jobs.site-a",
        "workspaces.main",
    }
    assert state.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "state" / "prod.json.backup").stat().st_mode & 0o777 == 0o600
    assert run("state", "list", "-C", str(tmp_path), env=env)[1] == (
        "jobs.site-a\nworkspaces.main\n"
    )
