"""POST /jobs: the reference example round-trips; bad bodies are refused with every problem."""

from __future__ import annotations

import uuid

from rmapply.emulator import Emulator
from tests.emulator.conftest import Api, job_body, new_id, reference_create_body
from tests.reference import openapi


def _is_guid(value: object) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value


def test_reference_example_round_trips_with_documented_shape(api: Api, itwin_id: str) -> None:
    workspace_id = api.workspace(itwin_id)
    answer = api.post("/jobs", json=job_body(workspace_id))
    assert answer.status_code == 201
    job = answer.json()["job"]
    example = openapi()["paths"]["/jobs"]["post"]["responses"]["201"]["content"][
        "application/json"
    ]["example"]["job"]
    assert set(job) == set(example)
    request = reference_create_body()
    assert job["state"] == "unsubmitted"
    assert job["name"] == request["name"]
    assert job["type"] == "Full"
    assert job["inputs"] == request["inputs"]
    assert job["workspaceId"] == workspace_id
    assert job["iTwinId"] == itwin_id
    assert job["location"] == "East US"
    assert job["email"].endswith("@emulator.example.com")
    assert job["createdDateTime"] == job["lastModifiedDateTime"]
    assert [o["format"] for o in job["jobSettings"]["outputs"]] == ["OBJ", "3MX"]
    assert all(_is_guid(o["id"]) for o in job["jobSettings"]["outputs"])
    assert job["jobSettings"]["quality"] == "Extra"
    assert job["jobSettings"]["processingEngines"] == 5
    assert job["costEstimationParameters"] == request["costEstimationParameters"]
    # round((2.5 + 1.5 / 10) * 1.5, 2)
    assert job["estimatedCost"] == round((2.5 + 1.5 / 10) * 1.5, 2)
    assert "executionInformation" not in job
    assert api.job(job["id"]) == job


def test_estimated_cost_uses_job_quality_when_mesh_quality_is_missing(
    api: Api, itwin_id: str
) -> None:
    workspace_id = api.workspace(itwin_id)
    body = job_body(workspace_id, costEstimationParameters={"gigaPixels": 4})
    body["settings"]["quality"] = "Draft"
    job = api.post("/jobs", json=body).json()["job"]
    assert job["estimatedCost"] == 2.0


def test_job_without_cost_parameters_has_no_estimated_cost(api: Api, itwin_id: str) -> None:
    body = job_body(api.workspace(itwin_id))
    del body["costEstimationParameters"]
    job = api.post("/jobs", json=body).json()["job"]
    assert "estimatedCost" not in job
    assert "costEstimationParameters" not in job


def test_numbers_and_booleans_sent_as_strings_are_accepted_like_bentleys_sdk(
    api: Api, itwin_id: str
) -> None:
    body = job_body(
        api.workspace(itwin_id),
        costEstimationParameters={
            "gigaPixels": "2.5",
            "megaPoints": "1.0",
            "meshQuality": "Medium",
        },
    )
    body["settings"]["cacheSettings"] = {"createCache": "True"}
    job = api.post("/jobs", json=body).json()["job"]
    assert job["costEstimationParameters"] == {
        "gigaPixels": 2.5,
        "megaPoints": 1.0,
        "meshQuality": "Medium",
    }
    assert job["jobSettings"]["cacheSettings"] == {"createCache": True}
    assert job["estimatedCost"] == 2.6


def test_invalid_type_is_refused_with_the_documented_message(api: Api, itwin_id: str) -> None:
    answer = api.post("/jobs", json=job_body(api.workspace(itwin_id), type="Unknown"))
    assert answer.status_code == 422
    assert answer.json() == {
        "error": {
            "code": "InvalidContextCaptureRequest",
            "message": "Cannot create job.",
            "details": [
                {
                    "code": "InvalidParameter",
                    "message": "Invalid 'type' parameter.",
                    "target": "type",
                }
            ],
        }
    }


def test_every_problem_of_a_body_is_reported_at_once(api: Api) -> None:
    body = {
        "type": "Full",
        "name": 7,
        "workspaceId": new_id(),
        "inputs": [{"idd": "x"}],
        "settings": {
            "quality": "Unknown",
            "outputs": ["OBJ", "Cesium3DTiles"],
            "processingEngines": 99,
        },
        "extra": True,
    }
    answer = api.post("/jobs", json=body)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "InvalidContextCaptureRequest"
    assert error["message"] == "Cannot create job."
    found = {(d["target"], d["message"]) for d in error["details"]}
    assert all(d["code"] == "InvalidParameter" for d in error["details"])
    assert found == {
        ("name", "Invalid 'name' parameter."),
        ("inputs[0].id", "Missing 'id' parameter."),
        ("inputs[0].idd", "Unknown 'idd' parameter."),
        ("settings.quality", "Invalid 'quality' parameter."),
        ("settings.outputs[1]", "Invalid 'outputs' parameter."),
        ("extra", "Unknown 'extra' parameter."),
        ("workspaceId", "Invalid 'workspaceId' parameter. The workspace does not exist."),
        (
            "settings.processingEngines",
            "Invalid 'processingEngines' parameter. "
            "It must be between 0 and the engine limit (25).",
        ),
    }


def test_missing_required_fields_are_named(api: Api) -> None:
    answer = api.post("/jobs", json={})
    assert answer.status_code == 422
    targets = [d["target"] for d in answer.json()["error"]["details"]]
    assert targets == ["type", "name", "workspaceId", "inputs", "settings"]
    assert answer.json()["error"]["details"][0]["message"] == "Missing 'type' parameter."


def test_unknown_workspace_is_refused_as_an_invalid_parameter(api: Api) -> None:
    answer = api.post("/jobs", json=job_body(new_id()))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == [
        {
            "code": "InvalidParameter",
            "message": "Invalid 'workspaceId' parameter. The workspace does not exist.",
            "target": "workspaceId",
        }
    ]


def test_processing_engines_above_the_limit_are_refused(api: Api, itwin_id: str) -> None:
    body = job_body(api.workspace(itwin_id))
    body["settings"]["processingEngines"] = 26
    answer = api.post("/jobs", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == [
        {
            "code": "InvalidParameter",
            "message": "Invalid 'processingEngines' parameter. "
            "It must be between 0 and the engine limit (25).",
            "target": "settings.processingEngines",
        }
    ]
    body["settings"]["processingEngines"] = 25
    assert api.post("/jobs", json=body).status_code == 201


def test_an_output_format_requested_twice_is_refused(api: Api, itwin_id: str) -> None:
    body = job_body(api.workspace(itwin_id))
    body["settings"]["outputs"] = ["OBJ", "OBJ"]
    answer = api.post("/jobs", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == [
        {
            "code": "InvalidParameter",
            "message": "Invalid 'outputs' parameter. 'OBJ' is requested twice.",
            "target": "settings.outputs[1]",
        }
    ]


def test_a_body_that_is_not_json_is_refused_with_422(api: Api) -> None:
    answer = api.post("/jobs", data=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "InvalidContextCaptureRequest"
    assert error["message"] == "Cannot create job."
    assert error["details"][0]["code"] == "InvalidParameter"
    assert error["details"][0]["message"].startswith("The request body is not valid JSON")


def test_a_json_body_that_is_not_an_object_is_refused(api: Api) -> None:
    answer = api.post("/jobs", json=[1, 2])
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == [
        {"code": "InvalidParameter", "message": "The request body must be a JSON object."}
    ]


def test_a_workspace_without_itwin_gives_jobs_without_itwin(api: Api) -> None:
    job = api.create_job(api.workspace(None))
    assert "iTwinId" not in job


def test_job_email_is_the_callers_identity(api: Api, emulator: Emulator, itwin_id: str) -> None:
    other = Api(emulator, "another-token")
    workspace_id = api.workspace(itwin_id)
    mine = api.create_job(workspace_id)
    theirs = other.create_job(workspace_id)
    assert mine["email"] != theirs["email"]
    assert api.create_job(workspace_id)["email"] == mine["email"]
    other.close()
