"""Fixtures of the client tests: clients against the emulator, a workspace, the page's job body."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rmapply import wire
from rmapply.client import Auth, ClientEvent, RealityModelingClient, RetryPolicy, StaticToken
from rmapply.emulator import Emulator
from tests.reference import reference_dir

MakeClient = Callable[..., RealityModelingClient]


def page_examples() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request and 201 answer of the official "Create a job" page."""
    text = (reference_dir() / "create-job-api.txt").read_text(encoding="utf-8")
    found = [json.loads(m) for m in re.findall(r"^(\{ .*\})$", text, flags=re.M)]
    request = next(d for d in found if d.get("type") == "Full")
    answer = next(d for d in found if "job" in d)
    return request, answer


@pytest.fixture
def events() -> list[ClientEvent]:
    """Every event the clients of this test reported, in order."""
    return []


@pytest.fixture
def make_client(events: list[ClientEvent], token: str) -> Iterator[MakeClient]:
    """Make clients for an emulator (fast retry waits, events recorded); closed at teardown."""
    made: list[RealityModelingClient] = []

    def make(
        emu: Emulator | str, auth: Auth | None = None, **options: Any
    ) -> RealityModelingClient:
        base_url = emu if isinstance(emu, str) else emu.base_url
        options.setdefault("retry", RetryPolicy.fast())
        options.setdefault("on_event", events.append)
        options.setdefault("timeout", (2.0, 5.0))
        client = RealityModelingClient(base_url, auth or StaticToken(token), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(emulator: Emulator, make_client: MakeClient) -> RealityModelingClient:
    """A client of the ``emulator`` fixture."""
    return make_client(emulator)


@pytest.fixture
def workspace(client: RealityModelingClient, itwin_id: str) -> wire.Workspace:
    """A workspace in a fresh iTwin."""
    return client.create_workspace(wire.WorkspaceCreation(name="Site A", i_twin_id=itwin_id))


@pytest.fixture
def job_body(workspace: wire.Workspace) -> wire.JobCreation:
    """The page's example job, placed in ``workspace``."""
    request, _ = page_examples()
    return wire.JobCreation.from_wire({**request, "workspaceId": workspace.id})
