"""Every error example of the OpenAPI file, provoked over HTTP and read through the client.

The expected status, code, message and details come from the spec itself, so the emulator, the
client's error classes and the spec cannot drift apart silently.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, RetryPolicy
from rmapply.client.responses import NO_TOKEN_HINT
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import (
    ApiError,
    AuthenticationError,
    InvalidChangeError,
    NotFoundError,
    RateLimitedError,
    RequestRejectedError,
)
from tests.client.conftest import MakeClient, page_examples
from tests.client.test_error_answers import NoToken
from tests.reference import openapi

ITWIN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
OTHER_ITWIN = "510cd1a3-3703-4729-b08c-fecd9c87c3be"
CLASSES: dict[str, type[ApiError]] = {
    "401": AuthenticationError,
    "404": NotFoundError,
    "429": RateLimitedError,
}


@dataclass
class World:
    """A client of an emulator that knows one iTwin, with a workspace in it."""

    emulator: Emulator
    client: RealityModelingClient
    workspace: wire.Workspace

    def job(self, *, submitted: bool = False) -> wire.Job:
        request, _ = page_examples()
        body = wire.JobCreation.from_wire({**request, "workspaceId": self.workspace.id})
        job = self.client.create_job(body)
        return self.client.submit_job(job.id) if submitted else job


Call = Callable[[World, str], object]


def _resubmit(world: World, unknown: str) -> object:
    return world.client.submit_job(world.job(submitted=True).id)


def _delete_submitted(world: World, unknown: str) -> object:
    return world.client.delete_job(world.job(submitted=True).id)


def _create_workspace_elsewhere(world: World, unknown: str) -> object:
    return world.client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=unknown))


def _create_job(world: World, unknown: str) -> object:
    request, _ = page_examples()
    return world.client.create_job(wire.JobCreation.from_wire(request))


CALLS: dict[str, Call] = {
    "GET /jobs/{id}/progress": lambda w, u: w.client.get_progress(u),
    "DELETE /jobs/{id}": lambda w, u: w.client.delete_job(u),
    "PATCH /jobs/{id}": lambda w, u: w.client.patch_job(u, wire.JobPatch(type=wire.JobType.FULL)),
    "GET /jobs/{id}": lambda w, u: w.client.get_job(u),
    "POST /jobs": _create_job,
    "GET /jobs": lambda w, u: w.client.list_jobs_page(f"iTwinId eq {OTHER_ITWIN}"),
    "GET /workspaces/{id}": lambda w, u: w.client.get_workspace(u),
    "DELETE /workspaces/{id}": lambda w, u: w.client.delete_workspace(u),
    "GET /limits/engines": lambda w, u: w.client.engines_limit(OTHER_ITWIN),
    "POST /workspaces": lambda w, u: w.client.create_workspace(wire.WorkspaceCreation(name="w")),
}
# The refusals that need a particular record or request rather than an unknown id.
CALLS_422: dict[str, Call] = {
    "DELETE /jobs/{id}": _delete_submitted,
    "PATCH /jobs/{id}": _resubmit,
    "GET /jobs": lambda w, u: w.client.list_jobs_page(f"iTwinId eq {ITWIN}", top=0),
    "POST /workspaces": _create_workspace_elsewhere,
}


def _error_examples() -> list[tuple[str, str, dict[str, object]]]:
    found = []
    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            for status, answer in operation["responses"].items():
                example = answer.get("content", {}).get("application/json", {}).get("example")
                if status >= "400" and example is not None:
                    found.append((f"{method.upper()} {path}", status, example["error"]))
    return found


@pytest.fixture
def world(emulator_factory: Callable[..., Emulator], make_client: MakeClient) -> World:
    emulator = emulator_factory(EmulatorOptions(speed=0, itwins=(ITWIN,)))
    client = make_client(emulator, retry=RetryPolicy.none())
    workspace = client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=ITWIN))
    return World(emulator, client, workspace)


@pytest.mark.parametrize(
    ("operation", "status", "example"),
    _error_examples(),
    ids=[f"{o} {s}" for o, s, _ in _error_examples()],
)
def test_every_documented_error_reaches_the_user_with_its_exact_code_and_message(
    world: World, operation: str, status: str, example: dict[str, object]
) -> None:
    unknown = str(uuid.uuid4())
    call = CALLS_422[operation] if status == "422" else CALLS[operation]
    if status == "429":
        world.emulator.throttle_next(1, retry_after=7)
    with pytest.raises(ApiError) as caught:
        call(world, unknown)
    error = caught.value
    assert (error.status, error.code, error.api_message) == (
        int(status),
        example["code"],
        example["message"],
    )
    details: list[dict[str, str]] = example.get("details", [])  # type: ignore[assignment]
    documented = [(d["code"], d["message"]) for d in details]
    assert [(d.code, d.message) for d in error.details] == documented
    method, path = operation.split(" ", 1)
    assert error.method == method
    assert re.fullmatch(re.escape(path).replace(r"\{id\}", "[^/]+"), error.path)
    assert error.message.startswith(f"{method} ")
    assert f": {status} {example['code']}: {example['message']}" in error.message
    if status == "422":
        expected: type[ApiError] = (
            InvalidChangeError
            if any(code == "InvalidChange" for code, _ in documented)
            else RequestRejectedError
        )
    else:
        expected = CLASSES[status]
    assert type(error) is expected
    assert error.hint
    if status == "429":
        assert isinstance(error, RateLimitedError) and error.retry_after == 7.0


def test_the_spec_documents_an_error_example_for_every_operation() -> None:
    assert {o for o, _, _ in _error_examples()} == set(CALLS)


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_every_operation_without_a_token_is_header_not_found_with_what_to_set(
    world: World, make_client: MakeClient, operation: str
) -> None:
    anonymous = make_client(world.emulator, NoToken(), retry=RetryPolicy.none())
    with pytest.raises(AuthenticationError) as caught:
        CALLS[operation](World(world.emulator, anonymous, world.workspace), str(uuid.uuid4()))
    error = caught.value
    assert (error.status, error.code, error.api_message) == (
        401,
        "HeaderNotFound",
        "Header Authorization was not found in the request. Access denied.",
    )
    assert error.hint == NO_TOKEN_HINT
