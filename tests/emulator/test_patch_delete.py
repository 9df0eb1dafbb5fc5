"""PATCH changes an unsubmitted job only; resubmitting and deleting a submitted job are refused."""

from __future__ import annotations

from typing import Any

import pytest

from rmapply.emulator import Emulator
from tests.emulator.conftest import Api


def _invalid_change(message: str, detail: str) -> dict[str, Any]:
    return {
        "error": {
            "code": "InvalidContextCaptureRequest",
            "message": message,
            "details": [{"code": "InvalidChange", "message": detail}],
        }
    }


def test_patching_settings_keeps_output_ids_of_formats_still_requested(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    ids = {o["format"]: o["id"] for o in job["jobSettings"]["outputs"]}
    frozen.advance(10)
    answer = api.patch(
        f"/jobs/{job['id']}",
        json={"settings": {"outputs": ["3MX", "Cesium 3D Tiles"], "quality": "Medium"}},
    )
    assert answer.status_code == 200
    patched = answer.json()["job"]
    outputs = patched["jobSettings"]["outputs"]
    assert [o["format"] for o in outputs] == ["3MX", "Cesium 3D Tiles"]
    assert outputs[0]["id"] == ids["3MX"]
    assert outputs[1]["id"] not in ids.values()
    assert patched["jobSettings"]["quality"] == "Medium"
    assert patched["jobSettings"]["processingEngines"] == 5  # untouched settings stay
    assert patched["lastModifiedDateTime"] > job["lastModifiedDateTime"]
    assert patched["createdDateTime"] == job["createdDateTime"]
    assert patched["state"] == "unsubmitted"


def test_patching_type_and_cost_parameters_recomputes_the_estimate(
    frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    answer = api.patch(
        f"/jobs/{job['id']}",
        json={"type": "Reconstruction", "costEstimationParameters": {"gigaPixels": "10"}},
    )
    patched = answer.json()["job"]
    assert patched["type"] == "Reconstruction"
    assert patched["costEstimationParameters"] == {"gigaPixels": 10.0}
    assert patched["estimatedCost"] == 15.0  # job quality Extra when meshQuality is absent


def test_an_empty_patch_changes_nothing(frozen_api: Api, itwin_id: str) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    answer = api.patch(f"/jobs/{job['id']}", json={})
    assert answer.status_code == 200
    assert answer.json()["job"] == job


def test_resubmitting_is_refused_with_the_documented_invalid_change(
    frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    api.submit(job["id"])
    answer = api.patch(f"/jobs/{job['id']}", json={"state": "Active"})
    assert answer.status_code == 422
    assert answer.json() == _invalid_change(
        "Cannot modify job.", "Cannot resubmit an already submitted job."
    )


@pytest.mark.parametrize(
    "body",
    [{"settings": {"quality": "Draft"}}, {"type": "Calibration"}, {"costEstimationParameters": {}}],
)
def test_modifying_a_submitted_job_is_refused(
    frozen_api: Api, itwin_id: str, body: dict[str, Any]
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    api.submit(job["id"])
    answer = api.patch(f"/jobs/{job['id']}", json=body)
    assert answer.status_code == 422
    assert answer.json() == _invalid_change(
        "Cannot modify job.", "Cannot modify an already submitted job."
    )


def test_cancelling_an_unsubmitted_job_is_refused(frozen_api: Api, itwin_id: str) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    answer = api.patch(f"/jobs/{job['id']}", json={"state": "Cancelled"})
    assert answer.status_code == 422
    assert answer.json() == _invalid_change(
        "Cannot modify job.", "Cannot cancel a job that was not submitted."
    )


def test_cancelling_twice_or_after_the_end_is_refused(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    workspace_id = api.workspace(itwin_id)
    first = api.create_job(workspace_id)
    api.submit(first["id"])
    assert api.patch(f"/jobs/{first['id']}", json={"state": "Cancelled"}).status_code == 200
    again = api.patch(f"/jobs/{first['id']}", json={"state": "Cancelled"})
    assert again.json() == _invalid_change(
        "Cannot modify job.", "Cannot cancel an already cancelled job."
    )
    second = api.create_job(workspace_id)
    api.submit(second["id"])
    frozen.advance(3600)
    late = api.patch(f"/jobs/{second['id']}", json={"state": "Cancelled"})
    assert late.json() == _invalid_change(
        "Cannot modify job.", "Cannot cancel a job that is already over."
    )


def test_submitting_with_settings_applies_both(frozen_api: Api, itwin_id: str) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    answer = api.patch(
        f"/jobs/{job['id']}", json={"state": "Active", "settings": {"processingEngines": 0}}
    )
    patched = answer.json()["job"]
    assert patched["state"] == "active"
    assert patched["jobSettings"]["processingEngines"] == 0


def test_an_invalid_patch_is_refused_with_every_problem(frozen_api: Api, itwin_id: str) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    answer = api.patch(
        f"/jobs/{job['id']}",
        json={"state": "Paused", "name": "renamed", "settings": {"processingEngines": 100}},
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["message"] == "Cannot modify job."
    assert {(d["target"], d["message"]) for d in error["details"]} == {
        ("state", "Invalid 'state' parameter."),
        ("name", "Unknown 'name' parameter."),
    }


def test_processing_engines_above_the_limit_are_refused_on_patch(
    frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    answer = api.patch(f"/jobs/{job['id']}", json={"settings": {"processingEngines": 26}})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["target"] == "settings.processingEngines"


def test_deleting_an_unsubmitted_job_removes_it(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    answer = api.delete(f"/jobs/{job['id']}")
    assert answer.status_code == 204
    assert answer.content == b""
    assert api.get(f"/jobs/{job['id']}").status_code == 404
    assert frozen.jobs() == []


@pytest.mark.parametrize("advance", [0, 3600])
def test_deleting_a_submitted_job_is_refused(
    frozen: Emulator, frozen_api: Api, itwin_id: str, advance: int
) -> None:
    api = frozen_api
    job = api.create_job(api.workspace(itwin_id))
    api.submit(job["id"])
    frozen.advance(advance)
    answer = api.delete(f"/jobs/{job['id']}")
    assert answer.status_code == 422
    assert answer.json() == _invalid_change(
        "Cannot delete job.", "Cannot delete an already submitted job."
    )
    assert api.get(f"/jobs/{job['id']}").status_code == 200
