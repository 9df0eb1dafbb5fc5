"""``--local`` hands the client's requests to the embedded emulator in process: the client sees
the same answers as over the emulator's port, and the same failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rmapply.cli.local import InProcessTransport
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.client.transport import MaybeSent, NeverSent, Timeout
from rmapply.client.urllib3_transport import Urllib3Transport
from rmapply.emulator import Emulator
from rmapply.errors import OutcomeUnknownError
from rmapply.wire import JobCreation, WorkspaceCreation
from tests.emulator.conftest import job_body


def _both(emulator: Emulator, token: str) -> dict[str, RealityModelingClient]:
    over_http = Urllib3Transport.for_endpoint(emulator.base_url, pool_size=2, verify=None)
    return {
        name: RealityModelingClient(emulator.base_url, StaticToken(token), transport=transport)
        for name, transport in (("http", over_http), ("in process", InProcessTransport(emulator)))
    }


def _send(transport: Any, emulator: Emulator, token: str, path: str) -> Any:
    return transport.send(
        "GET",
        emulator.base_url + path,
        headers={"Authorization": f"Bearer {token}"},
        body=None,
        timeout=Timeout(),
    )


def test_an_error_answer_in_process_has_the_status_body_and_headers_of_the_server(
    emulator: Emulator, token: str
) -> None:
    over_http = Urllib3Transport.for_endpoint(emulator.base_url, pool_size=2, verify=None)
    local = _send(InProcessTransport(emulator), emulator, token, "/workspaces/unknown")
    remote = _send(over_http, emulator, token, "/workspaces/unknown")
    assert (local.status, local.reason) == (remote.status, remote.reason) == (404, "Not Found")
    assert json.loads(local.body) == json.loads(remote.body)
    for name in ("content-type", "Content-Length"):
        assert local.headers[name] == remote.headers[name]
    assert local.headers.get("date")  # the client reads the service's clock from it
    over_http.close()


def test_a_dropped_answer_may_have_been_processed_and_a_closed_transport_sends_nothing(
    emulator: Emulator, token: str
) -> None:
    transport = InProcessTransport(emulator)
    emulator.drop_next(1, "GET", "/contextcapture/workspaces")
    with pytest.raises(MaybeSent):
        _send(transport, emulator, token, "/workspaces/x")
    transport.close()
    with pytest.raises(NeverSent):
        _send(transport, emulator, token, "/workspaces/x")


def test_a_job_created_in_process_is_the_job_read_over_http(
    emulator: Emulator, token: str, itwin_id: str
) -> None:
    http, local = _both(emulator, token).values()
    workspace = local.create_workspace(WorkspaceCreation(name="ws", i_twin_id=itwin_id))
    created = local.create_job(JobCreation.from_wire(job_body(workspace.id)))
    assert http.get_job(created.id) == created == local.get_job(created.id)
    assert local.list_jobs_page(f"iTwinId eq {itwin_id}") == http.list_jobs_page(
        f"iTwinId eq {itwin_id}"
    )
    with pytest.raises(OutcomeUnknownError):
        emulator.drop_next(5, "POST", "/contextcapture/jobs")
        local.create_job(JobCreation.from_wire(job_body(workspace.id)))
    http.close()
    local.close()
