"""Fixtures of the emulator tests: a plain requests session on the API, workspaces, job bodies."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from rmapply.emulator import Emulator, EmulatorOptions
from tests.reference import openapi

TIMEOUT = 10


class Api:
    """A requests session bound to one emulator's base URL and a bearer token."""

    def __init__(self, emulator: Emulator, token: str | None) -> None:
        self.emulator = emulator
        self.base = emulator.base_url
        self.session = requests.Session()
        self.session.trust_env = False
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send ``method`` to base URL + ``path``."""
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def workspace(self, itwin_id: str | None, name: str = "ws") -> str:
        """Create a workspace and return its id."""
        body: dict[str, Any] = {"name": name}
        if itwin_id is not None:
            body["iTwinId"] = itwin_id
        answer = self.post("/workspaces", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["workspace"]["id"])

    def create_job(self, workspace_id: str, **changes: Any) -> dict[str, Any]:
        """Create a job from the reference example (with ``changes``) and return it."""
        answer = self.post("/jobs", json=job_body(workspace_id, **changes))
        assert answer.status_code == 201, answer.text
        job: dict[str, Any] = answer.json()["job"]
        return job

    def job(self, job_id: str) -> dict[str, Any]:
        """GET a job and return it."""
        answer = self.get(f"/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()["job"]
        return job

    def submit(self, job_id: str) -> dict[str, Any]:
        """Submit a job and return it."""
        answer = self.patch(f"/jobs/{job_id}", json={"state": "Active"})
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()["job"]
        return job

    def close(self) -> None:
        self.session.close()


def reference_create_body() -> dict[str, Any]:
    """The request example of POST /jobs in the official OpenAPI file."""
    example = openapi()["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]
    return copy.deepcopy(example["example"])


def job_body(workspace_id: str, **changes: Any) -> dict[str, Any]:
    """The reference create body in ``workspace_id``, with top-level keys replaced."""
    body = reference_create_body()
    body["workspaceId"] = workspace_id
    body.update(changes)
    return body


@pytest.fixture
def api(emulator: Emulator, token: str) -> Iterator[Api]:
    """The ``emulator`` fixture's API with the test token."""
    client = Api(emulator, token)
    yield client
    client.close()


@pytest.fixture
def frozen(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """An emulator whose simulated clock only moves with advance() (speed 0)."""
    return emulator_factory(EmulatorOptions(speed=0))


@pytest.fixture
def frozen_api(frozen: Emulator, token: str) -> Iterator[Api]:
    """The API of the ``frozen`` emulator."""
    client = Api(frozen, token)
    yield client
    client.close()


@pytest.fixture
def anonymous(emulator: Emulator) -> Iterator[Api]:
    """The ``emulator`` fixture's API without an Authorization header."""
    client = Api(emulator, None)
    yield client
    client.close()


def new_id() -> str:
    """A fresh GUID string."""
    return str(uuid.uuid4())
