"""The client works over any transport that keeps the protocol (a scripted one here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from rmapply import wire
from rmapply.client import (
    ClientCredentials,
    HttpAnswer,
    HttpTransport,
    MaybeSent,
    NeverSent,
    RealityModelingClient,
    RetryPolicy,
    StaticToken,
    TimedOutAfterSending,
    Timeout,
    TransportFailure,
)
from rmapply.errors import NotSentError, OutcomeUnknownError
from tests.client.conftest import page_examples

BASE = "https://rm.example.test/contextcapture"


@dataclass(frozen=True)
class Sent:
    """One request as the transport was asked to send it."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    timeout: Timeout


class ScriptedTransport:
    """Plays back answers and failures in order and records every request."""

    def __init__(self, *outcomes: HttpAnswer | TransportFailure) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[Sent] = []
        self.closed = False

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: Timeout,
    ) -> HttpAnswer:
        """The next scripted outcome."""
        self.sent.append(Sent(method, url, dict(headers), body, timeout))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, TransportFailure):
            raise outcome
        return outcome

    def close(self) -> None:
        """Remember that the client let go."""
        self.closed = True


def _json(status: int, document: dict[str, Any]) -> HttpAnswer:
    return HttpAnswer(
        status, "", {"Content-Type": "application/json"}, json.dumps(document).encode()
    )


def _job(state: str = "unsubmitted") -> HttpAnswer:
    _, answer = page_examples()
    return _json(200, {"job": {**answer["job"], "state": state}})


def _client(transport: HttpTransport) -> RealityModelingClient:
    return RealityModelingClient(
        BASE, StaticToken("t0k"), retry=RetryPolicy.fast(), timeout=(3, 7), transport=transport
    )


def _creation() -> wire.JobCreation:
    request, _ = page_examples()
    return wire.JobCreation.from_wire(request)


def test_a_client_sends_through_the_transport_it_is_given() -> None:
    transport = ScriptedTransport(_job())
    job = _client(transport).get_job("abc")
    (sent,) = transport.sent
    assert job.id == page_examples()[1]["job"]["id"]
    assert (sent.method, sent.url, sent.body) == ("GET", f"{BASE}/jobs/abc", None)
    assert sent.headers["Authorization"] == "Bearer t0k"
    assert sent.headers["User-Agent"].startswith("rmapply/")
    assert sent.timeout == Timeout(3.0, 7.0)


def test_a_post_that_was_never_sent_is_sent_again() -> None:
    transport = ScriptedTransport(NeverSent("connection refused"), _job())
    _client(transport).create_job(_creation())
    assert [s.method for s in transport.sent] == ["POST", "POST"]


def test_a_post_that_may_have_been_sent_is_not_sent_again() -> None:
    transport = ScriptedTransport(MaybeSent("the connection was closed before an answer came back"))
    with pytest.raises(OutcomeUnknownError) as failure:
        _client(transport).create_job(_creation())
    assert failure.value.message == (
        "POST /jobs: the connection was closed before an answer came back; "
        "the request may have been processed"
    )
    assert len(transport.sent) == 1


def test_a_submit_that_timed_out_after_sending_is_checked_with_a_get() -> None:
    transport = ScriptedTransport(TimedOutAfterSending(), _job("active"))
    job = _client(transport).submit_job("abc")
    assert job.state == wire.JobState.ACTIVE
    assert [s.method for s in transport.sent] == ["PATCH", "GET"]


def test_a_tls_failure_is_not_sent_again() -> None:
    transport = ScriptedTransport(NeverSent("certificate not trusted", stage="tls"))
    with pytest.raises(NotSentError) as failure:
        _client(transport).get_job("abc")
    assert "TLS handshake with rm.example.test failed (certificate not trusted)" in (
        failure.value.message
    )
    assert len(transport.sent) == 1


def test_client_credentials_fetch_their_token_through_the_given_transport() -> None:
    transport = ScriptedTransport(_json(200, {"access_token": "fresh", "expires_in": 3600}))
    credentials = ClientCredentials(
        "app", "s3cret", token_url="https://ims.example.test/token", transport=transport
    )
    assert credentials.authorization() == "Bearer fresh"
    (sent,) = transport.sent
    assert (sent.method, sent.url) == ("POST", "https://ims.example.test/token")
    assert b"grant_type=client_credentials" in (sent.body or b"")
    credentials.close()
    assert transport.closed


def test_closing_the_client_closes_its_transport() -> None:
    transport = ScriptedTransport()
    with _client(transport):
        pass
    assert transport.closed
