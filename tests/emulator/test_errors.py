"""Documented error answers: 401 without or with a bad token, 404 for unknown ids, 405."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rmapply.emulator import Emulator
from tests.emulator.conftest import Api, new_id

HEADER_NOT_FOUND = {
    "error": {
        "code": "HeaderNotFound",
        "message": "Header Authorization was not found in the request. Access denied.",
    }
}
JOB_NOT_FOUND = {"error": {"code": "JobNotFound", "message": "Requested job is not available."}}
WORKSPACE_NOT_FOUND = {
    "error": {"code": "WorkspaceNotFound", "message": "Requested workspace is not available."}
}
ITWIN_NOT_FOUND = {
    "error": {"code": "iTwinNotFound", "message": "Requested iTwin is not available."}
}

ALL_OPERATIONS = [
    ("POST", "/workspaces"),
    ("GET", "/workspaces/{id}"),
    ("DELETE", "/workspaces/{id}"),
    ("POST", "/jobs"),
    ("GET", "/jobs"),
    ("GET", "/jobs/{id}"),
    ("PATCH", "/jobs/{id}"),
    ("DELETE", "/jobs/{id}"),
    ("GET", "/jobs/{id}/progress"),
    ("GET", "/limits/engines"),
]


@pytest.mark.parametrize(("method", "path"), ALL_OPERATIONS)
def test_every_operation_without_authorization_is_401_header_not_found(
    anonymous: Api, method: str, path: str
) -> None:
    answer = anonymous.request(method, path.format(id=new_id()), json={})
    assert answer.status_code == 401
    assert answer.json() == HEADER_NOT_FOUND


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "token"])
def test_a_malformed_authorization_is_401_unauthorized(anonymous: Api, header: str) -> None:
    answer = anonymous.get("/limits/engines", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"code": "Unauthorized", "message": "Access denied due to invalid access token."}
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs/{id}"),
        ("PATCH", "/jobs/{id}"),
        ("DELETE", "/jobs/{id}"),
        ("GET", "/jobs/{id}/progress"),
    ],
)
def test_unknown_job_is_404_job_not_found(api: Api, method: str, path: str) -> None:
    answer = api.request(method, path.format(id=new_id()), json={"state": "Active"})
    assert answer.status_code == 404
    assert answer.json() == JOB_NOT_FOUND


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_workspace_is_404_workspace_not_found(api: Api, method: str) -> None:
    answer = api.request(method, f"/workspaces/{new_id()}")
    assert answer.status_code == 404
    assert answer.json() == WORKSPACE_NOT_FOUND


def test_a_malformed_itwin_is_404_itwin_not_found_on_engines_and_list(api: Api) -> None:
    engines = api.get("/limits/engines", params={"iTwinId": "not-a-guid"})
    assert engines.status_code == 404
    assert engines.json() == ITWIN_NOT_FOUND
    listing = api.get("/jobs", params={"$filter": "iTwinId eq 'not-a-guid'"})
    assert listing.status_code == 404
    assert listing.json() == ITWIN_NOT_FOUND


def test_an_itwin_outside_the_allow_list_is_not_found(
    emulator_factory: Callable[..., Emulator], token: str
) -> None:
    allowed = new_id()
    emu = emulator_factory(itwins=(allowed,))
    client = Api(emu, token)
    assert client.get("/limits/engines", params={"iTwinId": allowed}).status_code == 200
    assert client.get("/limits/engines", params={"iTwinId": new_id()}).json() == ITWIN_NOT_FOUND
    refused = client.post("/workspaces", json={"name": "w", "iTwinId": new_id()})
    assert refused.status_code == 422
    assert refused.json() == {
        "error": {
            "code": "InvalidContextCaptureRequest",
            "message": "Cannot create workspace.",
            "details": [
                {
                    "code": "InvalidParameter",
                    "message": "No processing cluster in project location.",
                    "target": "iTwinId",
                }
            ],
        }
    }
    client.close()


def test_an_unsupported_method_on_a_known_path_is_405_with_allow(api: Api) -> None:
    answer = api.request("PUT", f"/jobs/{new_id()}")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "DELETE, GET, PATCH"
    assert answer.json()["error"]["code"] == "MethodNotAllowed"


def test_an_unknown_path_is_404_resource_not_found(api: Api) -> None:
    answer = api.get("/nothing-here")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "ResourceNotFound"


def test_accept_and_content_type_are_not_checked(api: Api, itwin_id: str) -> None:
    answer = api.post(
        "/workspaces",
        data=b'{"name": "w", "iTwinId": "%s"}' % itwin_id.encode(),
        headers={"Accept": "application/vnd.bentley.v1+json", "Content-Type": "text/plain"},
    )
    assert answer.status_code == 201
    assert answer.headers["Content-Type"] == "application/json"


def test_a_chunked_body_is_read_and_the_connection_stays_usable(api: Api, itwin_id: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "chunked", '
        yield b'"iTwinId": "%s"}' % itwin_id.encode()

    answer = api.post("/workspaces", data=chunks())
    assert answer.status_code == 201
    assert answer.json()["workspace"]["name"] == "chunked"
    assert api.get("/limits/engines").status_code == 200
