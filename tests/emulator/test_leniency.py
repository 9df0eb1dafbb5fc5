"""How far the emulator bends the spec for Bentley's SDK, and where it stops (docs/emulator.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.conftest import Api, job_body

CREATE_REFUSED = ("InvalidContextCaptureRequest", "Cannot create job.")


def _refusal(answer: Any) -> tuple[str, str, list[tuple[str, str]]]:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    details = [(d["target"], d["message"]) for d in error["details"]]
    assert all(d["code"] == "InvalidParameter" for d in error["details"])
    return error["code"], error["message"], details


@pytest.mark.parametrize("flag", ["True", "true", "FALSE", " false "])
def test_true_and_false_as_text_are_read_as_booleans(api: Api, itwin_id: str, flag: str) -> None:
    body = job_body(api.workspace(itwin_id))
    body["settings"]["cacheSettings"] = {"createCache": flag}
    job = api.post("/jobs", json=body).json()["job"]
    assert job["jobSettings"]["cacheSettings"] == {"createCache": flag.strip().lower() == "true"}


@pytest.mark.parametrize("flag", [1, 0, "yes", "1", "on", 1.0])
def test_other_stand_ins_for_booleans_are_refused(api: Api, itwin_id: str, flag: object) -> None:
    body = job_body(api.workspace(itwin_id))
    body["settings"]["cacheSettings"] = {"createCache": flag}
    code, message, details = _refusal(api.post("/jobs", json=body))
    assert (code, message) == CREATE_REFUSED
    assert details == [("settings.cacheSettings.createCache", "Invalid 'createCache' parameter.")]


@pytest.mark.parametrize(("engines", "read"), [("5", 5), (" 7 ", 7), (3.0, 3)])
def test_an_integer_as_text_or_whole_float_is_read_as_an_integer(
    api: Api, itwin_id: str, engines: object, read: int
) -> None:
    body = job_body(api.workspace(itwin_id))
    body["settings"]["processingEngines"] = engines
    job = api.post("/jobs", json=body).json()["job"]
    assert job["jobSettings"]["processingEngines"] == read


@pytest.mark.parametrize("engines", [True, "5.5", 2.5, "five"])
def test_other_stand_ins_for_integers_are_refused(api: Api, itwin_id: str, engines: object) -> None:
    body = job_body(api.workspace(itwin_id))
    body["settings"]["processingEngines"] = engines
    _, _, details = _refusal(api.post("/jobs", json=body))
    assert details == [("settings.processingEngines", "Invalid 'processingEngines' parameter.")]


@pytest.mark.parametrize("amount", ["nan", "Infinity", "-inf", True, "1e400"])
def test_non_finite_or_boolean_amounts_are_refused(api: Api, itwin_id: str, amount: object) -> None:
    body = job_body(api.workspace(itwin_id), costEstimationParameters={"gigaPixels": amount})
    _, _, details = _refusal(api.post("/jobs", json=body))
    assert details == [("costEstimationParameters.gigaPixels", "Invalid 'gigaPixels' parameter.")]


@pytest.mark.parametrize("amount", [-0.5, 1e308, 1_000_001])
def test_cost_amounts_outside_zero_to_a_million_are_refused_on_create_and_patch(
    api: Api, itwin_id: str, amount: float
) -> None:
    workspace_id = api.workspace(itwin_id)
    cost = {"gigaPixels": 1, "megaPoints": amount}
    expected = [
        (
            "costEstimationParameters.megaPoints",
            "Invalid 'megaPoints' parameter. It must be between 0 and 1000000.",
        )
    ]
    created = api.post("/jobs", json=job_body(workspace_id, costEstimationParameters=cost))
    assert _refusal(created) == (*CREATE_REFUSED, expected)
    job = api.create_job(workspace_id)
    patched = api.patch(f"/jobs/{job['id']}", json={"costEstimationParameters": cost})
    assert _refusal(patched) == ("InvalidContextCaptureRequest", "Cannot modify job.", expected)
    assert api.job(job["id"]) == job


def test_the_largest_amounts_still_give_a_finite_cost_and_a_job_that_ends(
    frozen_api: Api, itwin_id: str
) -> None:
    cost = {"gigaPixels": 1_000_000, "megaPoints": 1_000_000, "meshQuality": "Extra"}
    job = frozen_api.create_job(frozen_api.workspace(itwin_id), costEstimationParameters=cost)
    assert job["estimatedCost"] == 1_650_000.0
    frozen_api.submit(job["id"])
    frozen_api.emulator.advance(400 * 24 * 3600)
    assert frozen_api.job(job["id"])["state"] == "success"


def test_null_for_an_optional_field_means_it_is_absent(api: Api, itwin_id: str) -> None:
    body = job_body(api.workspace(itwin_id), costEstimationParameters=None)
    body["settings"]["cacheSettings"] = {"createCache": True, "useCache": None}
    job = api.post("/jobs", json=body).json()["job"]
    assert "costEstimationParameters" not in job
    assert job["jobSettings"]["cacheSettings"] == {"createCache": True}


def test_null_for_a_required_field_is_refused(api: Api, itwin_id: str) -> None:
    body = job_body(api.workspace(itwin_id), name=None)
    assert _refusal(api.post("/jobs", json=body)) == (
        *CREATE_REFUSED,
        [("name", "Invalid 'name' parameter.")],
    )
