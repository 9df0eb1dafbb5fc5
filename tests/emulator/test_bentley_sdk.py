"""Bentley's own v1 Python SDK (reality_apis 1.4.0) works against the emulator.

The SDK is not on PyPI, so these tests replay exactly what it sends (api-notes.md, section 10.3):
HTTPS to ``https://<host:port>/contextcapture/...`` (scheme hard-coded, so the emulator serves a
self-signed certificate), its four headers on every call (``Content-type`` even on GET/DELETE),
numbers and booleans as strings, lowercase PATCH states; and they read the answers as strictly
as the SDK does (lowercase job states, the 17 older output formats, a ``step`` in progress).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from rmapply.emulator import Emulator, EmulatorOptions

SDK_HEADERS = {
    "Authorization": "Bearer sdk-token",  # get_token() returns the whole header value
    "User-Agent": "Reality Modeling Python SDK/1.4.0",
    "Content-type": "application/json",
    "Accept": "application/vnd.bentley.itwin-platform.v1+json",
}
# reality_apis.utils.JobState values: the SDK lowercases progress states into these.
SDK_JOB_STATES = {"unknown", "unsubmitted", "active", "success", "failed", "cancelled", "pending"}
SDK_PROGRESS_STATES = SDK_JOB_STATES | {"over"}
# The SDK's CCJobSettings knows the 17 formats of its time (no GaussianSplats).
SDK_FORMATS = {
    "CCOrientations", "3MX", "3SM", "WebReady ScalableMesh", "Cesium 3D Tiles", "POD",
    "Orthophoto/DSM", "LAS", "FBX", "OBJ", "ESRI i3s", "DGN", "LODTreeExport", "PLY", "OPC",
    "OMR", "ContextScene",
}  # fmt: skip
PHOTOS = "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4"
ORIENTATIONS = "dc65ce7d-2598-422f-97a5-5ae8eb004b67"


class SdkSession:
    """What ContextCaptureService does on the wire: one requests.Session, URLs built by hand."""

    def __init__(self, emulator: Emulator, cert: Path) -> None:
        # get_service_url() returns host[:port]; every URL is "https://" + it + "/contextcapture".
        self.service_url = f"127.0.0.1:{emulator.port}"
        self.session = requests.Session()
        self.session.verify = str(cert)
        self.session.trust_env = False  # else a preset REQUESTS_CA_BUNDLE overrides verify

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        """One SDK call: its headers always, the body as json.dumps text."""
        url = "https://" + self.service_url + "/contextcapture" + path
        data = None if body is None else json.dumps(body)
        return self.session.request(method, url, data=data, headers=SDK_HEADERS, timeout=10)


@pytest.fixture
def https_emulator(emulator_factory: Any, tls_certificate: tuple[Path, Path]) -> Emulator:
    cert, key = tls_certificate
    emulator: Emulator = emulator_factory(
        EmulatorOptions(speed=0, tls_cert=str(cert), tls_key=str(key))
    )
    return emulator


@pytest.fixture
def sdk(https_emulator: Emulator, tls_certificate: tuple[Path, Path]) -> Iterator[SdkSession]:
    session = SdkSession(https_emulator, tls_certificate[0])
    yield session
    session.session.close()


def _create_workspace(sdk: SdkSession, itwin_id: str) -> str:
    body = {"name": "SDK workspace", "iTwinId": itwin_id, "contextCaptureVersion": "20.1"}
    answer = sdk.send("POST", "/workspaces", body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["workspace"]["id"])


def _sdk_job_body(workspace_id: str, **settings: Any) -> dict[str, Any]:
    """create_job(CCJobType.FULL, CCJobSettings, name, work_id) as the SDK serialises it."""
    return {
        "type": "Full",
        "name": "SDK job",
        "inputs": [{"id": PHOTOS}, {"id": ORIENTATIONS}],
        "workspaceId": workspace_id,
        "settings": {
            "quality": "Medium",
            "processingEngines": 0,
            "outputs": ["Cesium 3D Tiles", "OPC"],
            **settings,
        },
    }


def _create_job(sdk: SdkSession, workspace_id: str, **settings: Any) -> dict[str, Any]:
    answer = sdk.send("POST", "/jobs", _sdk_job_body(workspace_id, **settings))
    assert answer.status_code == 201, answer.text
    job: dict[str, Any] = answer.json()["job"]
    return job


def _read_like_get_job_properties(job: dict[str, Any]) -> None:
    """The checks CCJobProperties parsing makes; any failure is an SDK error for the user."""
    assert job["state"] in SDK_JOB_STATES  # no lower-casing here
    assert job["type"] in ("Full", "Calibration", "Reconstruction")
    assert {o["format"] for o in job["jobSettings"]["outputs"]} <= SDK_FORMATS
    cost = job.get("costEstimationParameters")
    if cost is not None:
        assert cost.get("meshQuality") in (None, "Draft", "Medium", "Extra")
    for item in (job.get("executionInformation") or {}).get("errors") or []:
        assert set(item) >= {"code", "title", "message", "params"}


def test_sdk_workspace_with_context_capture_version_over_https(
    sdk: SdkSession, itwin_id: str
) -> None:
    workspace_id = _create_workspace(sdk, itwin_id)
    answer = sdk.send("GET", f"/workspaces/{workspace_id}")
    assert answer.status_code == 200
    assert answer.json()["workspace"]["contextCaptureVersion"] == "20.1"
    assert sdk.send("DELETE", f"/workspaces/{workspace_id}").status_code == 204


def test_sdk_job_with_its_string_cache_flag_is_created_and_readable(
    sdk: SdkSession, itwin_id: str
) -> None:
    workspace_id = _create_workspace(sdk, itwin_id)
    previous = _create_job(sdk, workspace_id)
    job = _create_job(
        sdk, workspace_id, cacheSettings={"createCache": "True", "useCache": previous["id"]}
    )
    assert job["jobSettings"]["cacheSettings"] == {"createCache": True, "useCache": previous["id"]}
    assert job["jobSettings"]["processingEngines"] == 0
    _read_like_get_job_properties(sdk.send("GET", f"/jobs/{job['id']}").json()["job"])


def test_sdk_cost_estimate_with_numbers_as_strings_gets_a_numeric_cost(
    sdk: SdkSession, itwin_id: str
) -> None:
    job = _create_job(sdk, _create_workspace(sdk, itwin_id))
    body = {"costEstimationParameters": {"gigaPixels": "2.5", "megaPoints": "1.0",
                                         "meshQuality": "Medium"}}  # fmt: skip
    answer = sdk.send("PATCH", f"/jobs/{job['id']}", body)
    assert answer.status_code == 200, answer.text
    estimated = answer.json()["job"]
    assert estimated["costEstimationParameters"] == {
        "gigaPixels": 2.5,
        "megaPoints": 1.0,
        "meshQuality": "Medium",
    }
    assert estimated["estimatedCost"] == 2.6  # (2.5 + 1.0 / 10) * 1.0
    _read_like_get_job_properties(estimated)


def test_sdk_lowercase_submit_and_cancel_are_accepted(
    sdk: SdkSession, https_emulator: Emulator, itwin_id: str
) -> None:
    job = _create_job(sdk, _create_workspace(sdk, itwin_id))
    submitted = sdk.send("PATCH", f"/jobs/{job['id']}", {"state": "active"})
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["job"]["state"] == "active"
    https_emulator.advance(30)
    cancelled = sdk.send("PATCH", f"/jobs/{job['id']}", {"state": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["job"]["state"] == "cancelled"
    _read_like_get_job_properties(cancelled.json()["job"])


def test_sdk_progress_always_has_a_step_and_a_state_it_knows(
    sdk: SdkSession, https_emulator: Emulator, itwin_id: str
) -> None:
    job = _create_job(sdk, _create_workspace(sdk, itwin_id))
    seen = []
    for action in ("unsubmitted", "submit", "queued", "running", "over"):
        if action == "submit":
            assert sdk.send("PATCH", f"/jobs/{job['id']}", {"state": "active"}).ok
        elif action != "unsubmitted":
            https_emulator.advance({"queued": 1, "running": 60, "over": 3600}[action])
        progress = sdk.send("GET", f"/jobs/{job['id']}/progress").json()["jobProgress"]
        assert "step" in progress  # the SDK reads jobProgress["step"] unconditionally
        assert progress["state"].lower() in SDK_PROGRESS_STATES
        seen.append((progress["state"].lower(), int(progress["percentage"])))
    assert seen[0] == ("unsubmitted", 0)
    assert seen[-1] == ("over", 100)


def test_sdk_default_quality_unknown_is_refused_with_an_error_it_can_format(
    sdk: SdkSession, itwin_id: str
) -> None:
    body = _sdk_job_body(_create_workspace(sdk, itwin_id), quality="Unknown")
    answer = sdk.send("POST", "/jobs", body)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert (error["code"], error["message"]) == (
        "InvalidContextCaptureRequest",
        "Cannot create job.",
    )
    assert error["details"] == [
        {
            "code": "InvalidParameter",
            "message": "Invalid 'quality' parameter.",
            "target": "settings.quality",
        }
    ]


def test_sdk_delete_job_with_a_content_type_and_no_body(sdk: SdkSession, itwin_id: str) -> None:
    job = _create_job(sdk, _create_workspace(sdk, itwin_id))
    assert sdk.send("DELETE", f"/jobs/{job['id']}").status_code == 204
    gone = sdk.send("GET", f"/jobs/{job['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"] == {
        "code": "JobNotFound",
        "message": "Requested job is not available.",
    }
