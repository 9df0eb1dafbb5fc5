"""Workspaces (create, get, delete) and the engines limit."""

from __future__ import annotations

from collections.abc import Callable

from rmapply.emulator import Emulator, EmulatorOptions
from tests.emulator.conftest import Api, job_body


def test_a_workspace_round_trips(api: Api, itwin_id: str) -> None:
    answer = api.post("/workspaces", json={"name": "My workspace", "iTwinId": itwin_id})
    assert answer.status_code == 201
    workspace = answer.json()["workspace"]
    assert set(workspace) == {"id", "createdDateTime", "name", "iTwinId", "contextCaptureVersion"}
    assert workspace["name"] == "My workspace"
    assert workspace["iTwinId"] == itwin_id
    assert workspace["contextCaptureVersion"] == "2023.0"
    fetched = api.get(f"/workspaces/{workspace['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == {"workspace": workspace}


def test_a_workspace_echoes_the_context_capture_version_sdks_send(api: Api, itwin_id: str) -> None:
    body = {"name": "w", "iTwinId": itwin_id, "contextCaptureVersion": "20.1"}
    workspace = api.post("/workspaces", json=body).json()["workspace"]
    assert workspace["contextCaptureVersion"] == "20.1"


def test_a_workspace_without_a_name_is_refused(api: Api, itwin_id: str) -> None:
    answer = api.post("/workspaces", json={"iTwinId": itwin_id, "color": "red"})
    assert answer.status_code == 422
    assert answer.json() == {
        "error": {
            "code": "InvalidContextCaptureRequest",
            "message": "Cannot create workspace.",
            "details": [
                {
                    "code": "InvalidParameter",
                    "message": "Missing 'name' parameter.",
                    "target": "name",
                },
                {
                    "code": "InvalidParameter",
                    "message": "Unknown 'color' parameter.",
                    "target": "color",
                },
            ],
        }
    }


def test_a_malformed_itwin_has_no_processing_cluster(api: Api) -> None:
    answer = api.post("/workspaces", json={"name": "w", "iTwinId": "site-a"})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == [
        {
            "code": "InvalidParameter",
            "message": "No processing cluster in project location.",
            "target": "iTwinId",
        }
    ]


def test_deleting_a_workspace_with_jobs_is_allowed_and_its_jobs_stay_readable(
    api: Api, itwin_id: str
) -> None:
    workspace_id = api.workspace(itwin_id)
    job = api.create_job(workspace_id)
    assert api.delete(f"/workspaces/{workspace_id}").status_code == 204
    assert api.get(f"/workspaces/{workspace_id}").status_code == 404
    assert api.job(job["id"])["workspaceId"] == workspace_id
    refused = api.post("/jobs", json=job_body(workspace_id))
    assert refused.status_code == 422


def test_engines_limit_is_the_configured_maximum(
    emulator_factory: Callable[..., Emulator], token: str, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(max_engines=7))
    client = Api(emu, token)
    for params in ({}, {"iTwinId": itwin_id}):
        answer = client.get("/limits/engines", params=params)
        assert answer.status_code == 200
        assert answer.json() == {"enginesLimit": {"maxEngines": 7}}
    emu.set_max_engines(3)
    assert client.get("/limits/engines").json() == {"enginesLimit": {"maxEngines": 3}}
    client.close()


def test_default_engines_limit_is_25(api: Api) -> None:
    assert api.get("/limits/engines").json() == {"enginesLimit": {"maxEngines": 25}}
