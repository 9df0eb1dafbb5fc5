"""rmapply import ADDRESS ID: an existing job or workspace adopted after checking it against its
manifest; what differs harmlessly is recorded as it is remotely, so the next plan shows it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.emulator import Emulator
from tests.cli.project import photos_id, run, state_of, write_project

OTHER_ITWIN = "0e4e3c3a-6f0a-4a54-9d1c-5a8b9f0c2d11"


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def client(emulator: Emulator, token: str) -> RealityModelingClient:
    """A client of the emulator, to make objects outside rmapply."""
    return RealityModelingClient(emulator.base_url, StaticToken(token))


def _workspace(client: RealityModelingClient, itwin_id: str, name: str = "Main") -> str:
    return client.create_workspace(wire.WorkspaceCreation(name=name, i_twin_id=itwin_id)).id


def _job(client: RealityModelingClient, workspace_id: str, **changes: Any) -> wire.Job:
    body: dict[str, Any] = {
        "type": "Full",
        "name": "Site site-a",
        "workspaceId": workspace_id,
        "inputs": [{"id": photos_id("site-a"), "description": "drone photos"}],
        "settings": {"quality": "Medium", "outputs": ["OBJ", "Cesium 3D Tiles"]},
        "costEstimationParameters": {"gigaPixels": 2.0, "megaPoints": 10.0},
    }
    body.update(changes)
    return client.create_job(wire.JobCreation.from_wire(body))


def _import(folder: Path, env: dict[str, str], address: str, remote: str) -> tuple[int, str, str]:
    return run("import", "-C", str(folder), address, remote, env=env)


def test_workspace_of_another_itwin_is_refused(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    other = _workspace(client, OTHER_ITWIN)
    code, out, err = _import(tmp_path, env, "workspaces.main", other)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"Error: workspace {other} is not the one workspaces.main describes (workspaces.toml:1):",
        f'  iTwinId: manifest "{itwin_id}", workspace "{OTHER_ITWIN}"',
        "Hint: import the workspace of this project's iTwin, or fix the manifest",
    ]
    assert not (tmp_path / "rmapply.state.json").exists()


def test_workspace_with_another_name_is_adopted_and_the_next_plan_shows_the_rename(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id, {})
    workspace = _workspace(client, itwin_id, name="Old name")
    code, out, err = _import(tmp_path, env, "workspaces.main", workspace)
    assert (code, out) == (0, f"Imported workspace {workspace} as workspaces.main.\n")
    assert err == (
        'warning: workspaces.main: name: manifest "Main", workspace "Old name"; the next plan'
        " shows the change\n"
    )
    code, out, _ = run("plan", "-C", str(tmp_path), "--detailed-exitcode", env=env)
    assert code == 2
    assert "  = workspaces.main: record (state only)\n" in out
    assert '      name: "Old name" -> "Main"  # cosmetic\n' in out


def test_job_with_other_cost_parameters_is_adopted_and_the_next_plan_patches_them(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    workspace = _workspace(client, itwin_id)
    job = _job(client, workspace, costEstimationParameters={"gigaPixels": 3.0})
    assert _import(tmp_path, env, "workspaces.main", workspace)[0] == 0
    code, out, err = _import(tmp_path, env, "jobs.site-a", job.id)
    assert (code, out) == (0, f"Imported job {job.id} as jobs.site-a.\n")
    assert err.splitlines() == [
        "warning: jobs.site-a: costEstimationParameters.gigaPixels: manifest 2.0, job 3.0; the"
        " next plan shows the change",
        "warning: jobs.site-a: costEstimationParameters.megaPoints: manifest 10.0, job (absent);"
        " the next plan shows the change",
    ]
    record = state_of(tmp_path)["resources"]["jobs.site-a"]
    assert record["spec"]["costEstimationParameters"] == {"gigaPixels": 3.0}
    assert record["remote_id"] == job.id and record["workspace_id"] == workspace
    code, out, _ = run("plan", "-C", str(tmp_path), "--detailed-exitcode", env=env)
    assert code == 2
    assert "  ~ jobs.site-a: update in place\n" in out
    assert "      costEstimationParameters.gigaPixels: 3.0 -> 2.0  # estimate only\n" in out


def test_submitted_job_with_another_name_is_adopted_and_only_recorded(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    workspace = _workspace(client, itwin_id)
    job = _job(client, workspace, name="Site A (old)")
    client.submit_job(job.id)
    assert _import(tmp_path, env, "workspaces.main", workspace)[0] == 0
    assert _import(tmp_path, env, "jobs.site-a", job.id)[0] == 0
    code, out, _ = run("plan", "-C", str(tmp_path), "--detailed-exitcode", env=env)
    assert code == 2
    assert "  = jobs.site-a: record (state only)\n" in out
    assert "the job is not re-run" in out


def test_job_before_its_workspace_is_refused_with_the_command_that_imports_it(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    workspace = _workspace(client, itwin_id)
    job = _job(client, workspace)
    code, _, err = _import(tmp_path, env, "jobs.site-a", job.id)
    assert code == 1
    assert err.splitlines() == [
        "Error: jobs.site-a runs in workspaces.main, which is not in state yet",
        f"Hint: import the workspace first: rmapply import workspaces.main {workspace}",
    ]


def test_job_in_another_workspace_than_the_one_in_state_is_refused(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    workspace, elsewhere = _workspace(client, itwin_id), _workspace(client, itwin_id)
    job = _job(client, elsewhere)
    assert _import(tmp_path, env, "workspaces.main", workspace)[0] == 0
    code, _, err = _import(tmp_path, env, "jobs.site-a", job.id)
    assert code == 1
    assert err.splitlines()[:2] == [
        f"Error: job {job.id} does not compute what jobs.site-a describes (jobs/site-a.toml:1):",
        f'  workspaceId: manifest "{workspace}", job "{elsewhere}"',
    ]


def test_id_already_managed_at_another_address_is_refused(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {}, "site-b": {}})
    workspace = _workspace(client, itwin_id)
    job = _job(client, workspace)
    assert _import(tmp_path, env, "workspaces.main", workspace)[0] == 0
    assert _import(tmp_path, env, "jobs.site-a", job.id)[0] == 0
    code, _, err = _import(tmp_path, env, "jobs.site-b", job.id)
    assert code == 1
    assert err.splitlines() == [
        f"Error: {job.id} is already in state as jobs.site-a",
        "Hint: 'rmapply state mv jobs.site-a jobs.site-b' to move it to this address",
    ]


def test_address_not_in_the_manifests_suggests_a_close_one(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id)
    code, _, err = _import(tmp_path, env, "jobs.site-b", "some-id")
    assert code == 1
    assert err.splitlines() == [
        f"Error: jobs.site-b is not in the manifests of {tmp_path}",
        "Hint: did you mean 'jobs.site-a'? write its manifest first, then import the existing"
        " object under its key",
    ]


def test_workspace_id_given_as_a_job_is_not_found(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id)
    workspace = _workspace(client, itwin_id)
    code, _, err = _import(tmp_path, env, "jobs.site-a", workspace)
    assert code == 1
    assert err.splitlines() == [
        f"Error: there is no job {workspace} at {env['RMAPPLY_ENDPOINT']}",
        "Hint: check the id, and the endpoint (chosen by RMAPPLY_ENDPOINT)",
    ]


def test_job_reusing_the_cache_of_another_job_is_imported(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id, {"base": {}, "reuse": {}})
    for key, cache in (("base", "createCache = true"), ("reuse", 'useCache = "jobs.base"')):
        path = tmp_path / "jobs" / f"{key}.toml"
        text = path.read_text("utf-8").replace(
            'outputs = ["OBJ", "Cesium 3D Tiles"]\n',
            f'outputs = ["OBJ", "Cesium 3D Tiles"]\ncacheSettings = {{ {cache} }}\n',
        )
        path.write_text(text, encoding="utf-8")
    workspace = _workspace(client, itwin_id)
    settings = {"quality": "Medium", "outputs": ["OBJ", "Cesium 3D Tiles"]}
    base = _job(
        client,
        workspace,
        name="Site base",
        inputs=[{"id": photos_id("base"), "description": "drone photos"}],
        settings={**settings, "cacheSettings": {"createCache": True}},
    )
    reused = _job(
        client,
        workspace,
        name="Site reuse",
        inputs=[{"id": photos_id("reuse"), "description": "drone photos"}],
        settings={**settings, "cacheSettings": {"useCache": base.id}},
    )
    assert _import(tmp_path, env, "workspaces.main", workspace)[0] == 0
    code, _, err = _import(tmp_path, env, "jobs.base", base.id)
    assert code == 0, err
    code, out, err = _import(tmp_path, env, "jobs.reuse", reused.id)
    assert (code, out, err) == (0, f"Imported job {reused.id} as jobs.reuse.\n", "")
    code, _, err = _import(tmp_path, env, "jobs.reuse", reused.id)  # again: the same id is fine
    assert code == 0, err
    spec = json.loads(run("state", "show", "-C", str(tmp_path), "jobs.reuse", env=env)[1])["spec"]
    assert spec["settings"]["cacheSettings"] == {"useCache": "jobs.base"}
