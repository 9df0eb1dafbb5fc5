"""The urllib3 transport sorts its failures on real sockets: never sent, maybe sent, timed out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rmapply import wire
from rmapply.client import (
    MaybeSent,
    NeverSent,
    RealityModelingClient,
    RetryPolicy,
    StaticToken,
    TimedOutAfterSending,
    Timeout,
    urllib3_transport,
)
from rmapply.client.urllib3_transport import Urllib3Transport
from rmapply.errors import NotSentError, OutcomeUnknownError
from tests.client.silent_servers import refusing_port, silent_server

TIMEOUT = Timeout(connect=2.0, read=0.3)
ITWIN = "8a3b1c2d-0000-4000-8000-000000000001"


def _post(transport: Urllib3Transport, port: int) -> None:
    transport.send(
        "POST",
        f"http://127.0.0.1:{port}/contextcapture/jobs",
        headers={"Content-Type": "application/json"},
        body=b'{"name": "j"}',
        timeout=TIMEOUT,
    )


def test_a_refused_connection_is_never_sent() -> None:
    transport = Urllib3Transport()
    with refusing_port() as port, pytest.raises(NeverSent) as failure:
        _post(transport, port)
    assert failure.value.what == "connection refused"
    assert failure.value.stage == "connect"
    transport.close()


def test_a_connection_closed_without_an_answer_may_have_been_sent() -> None:
    transport = Urllib3Transport()
    with silent_server() as server, pytest.raises(MaybeSent) as failure:
        _post(transport, server.port)
    assert not isinstance(failure.value, TimedOutAfterSending)
    assert failure.value.what == "the connection was closed before an answer came back"
    assert len(server.requests) == 1
    transport.close()


def test_an_answer_after_the_read_timeout_is_timed_out_after_sending() -> None:
    transport = Urllib3Transport()
    with silent_server(answer_when_released=True) as server:
        with pytest.raises(TimedOutAfterSending) as failure:
            _post(transport, server.port)
        server.released.set()
    assert isinstance(failure.value, MaybeSent)
    assert failure.value.what == "no answer within the read timeout"
    assert len(server.requests) == 1
    transport.close()


def test_the_client_never_resends_a_post_the_server_closed_on() -> None:
    with silent_server() as server:
        client = RealityModelingClient(
            f"http://127.0.0.1:{server.port}/contextcapture",
            StaticToken("t"),
            retry=RetryPolicy.fast(),
            timeout=(2.0, 5.0),
        )
        with pytest.raises(OutcomeUnknownError) as failure:
            client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=ITWIN))
        client.close()
    assert failure.value.message == (
        "POST /workspaces: the connection was closed before an answer came back; "
        "the request may have been processed"
    )
    assert len(server.requests) == 1


def test_the_client_sends_a_refused_get_again_and_names_it_never_sent() -> None:
    with refusing_port() as port:
        client = RealityModelingClient(
            f"http://127.0.0.1:{port}/contextcapture",
            StaticToken("t"),
            retry=RetryPolicy.fast(),
            timeout=(2.0, 5.0),
        )
        with pytest.raises(NotSentError) as failure:
            client.get_job("j1")
        client.close()
    assert failure.value.message == (
        f"GET /jobs/j1: could not connect to 127.0.0.1:{port} (connection refused) "
        "(after 4 attempts)"
    )


def test_a_closed_transport_refuses_to_send() -> None:
    transport = Urllib3Transport()
    transport.close()
    with pytest.raises(RuntimeError, match="closed"):
        _post(transport, 1)


def test_only_the_urllib3_transport_imports_urllib3() -> None:
    client_room = Path(urllib3_transport.__file__).parent
    importing = sorted(
        path.name
        for path in client_room.glob("*.py")
        if re.search(r"^\s*(import|from) urllib3", path.read_text(encoding="utf-8"), re.M)
    )
    assert importing == ["urllib3_transport.py"]
