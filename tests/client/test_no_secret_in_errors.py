"""No token text in any exception, hint, repr or chained cause, whatever the token looks like."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from email.message import Message

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import ApiError, AuthenticationError, ConfigError, NotSentError
from tests.client.plain_server import PlainServer

# A marker prefix keeps hypothesis from "finding" tokens that are just parts of a URL or a word.
tokens = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=4, max_size=80
).map(lambda s: f"T0K-{s}")
shared_fixtures = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _everything_shown(error: BaseException, client: RealityModelingClient) -> str:
    """Every text a user, a log or a state file could get from the error and the client."""
    texts = [str(error), repr(error), repr(error.args), repr(client), repr(client.auth)]
    if isinstance(error, ApiError):
        texts += [str(error.hint), str(error.api_message), repr(error.details), repr(vars(error))]
    cause = error.__cause__ or error.__context__
    while cause is not None:
        texts += [str(cause), repr(cause), repr(getattr(cause, "args", ()))]
        texts += [repr(getattr(cause, "request", None)), repr(getattr(cause, "response", None))]
        cause = cause.__cause__ or cause.__context__
    return "\n".join(texts)


def _echo(headers: Message) -> bytes:
    # A careless server that quotes the Authorization header it received.
    quoted = headers.get("Authorization", "")
    return json.dumps(
        {"error": {"code": "Unauthorized", "message": f"Token {quoted} is not valid here."}}
    ).encode()


@pytest.fixture(scope="module")
def strict_emulator() -> Iterator[Emulator]:
    """One emulator for every example (its state does not matter here)."""
    with Emulator(EmulatorOptions(tokens=("the-only-good-token",))) as emu:
        yield emu


@pytest.fixture(scope="module")
def echo_server() -> Iterator[PlainServer]:
    """One careless server for every example."""
    with PlainServer(401, _echo, "application/json") as server:
        yield server


@shared_fixtures
@given(token=tokens)
def test_refused_token_never_appears_in_the_error(strict_emulator: Emulator, token: str) -> None:
    base = strict_emulator.base_url
    with RealityModelingClient(base, StaticToken(token), retry=RetryPolicy.fast()) as client:
        try:
            client.engines_limit()
        except AuthenticationError as error:
            assert token not in _everything_shown(error, client)
        else:
            raise AssertionError("the token was accepted")


@shared_fixtures
@given(token=tokens)
def test_token_echoed_by_a_server_is_scrubbed_from_the_message(
    echo_server: PlainServer, token: str
) -> None:
    with RealityModelingClient(echo_server.url, StaticToken(token)) as client:
        try:
            client.get_job("job-1")
        except AuthenticationError as error:
            assert error.message == (
                "GET /jobs/job-1: 401 Unauthorized: Token Bearer *** is not valid here."
            )
            assert token not in _everything_shown(error, client)
        else:
            raise AssertionError("the server accepted the request")


@settings(max_examples=10, deadline=None)
@given(token=tokens)
def test_transport_errors_do_not_carry_the_request_headers(token: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}/contextcapture"
    with RealityModelingClient(base, StaticToken(token), retry=RetryPolicy.none()) as client:
        try:
            client.get_job("job-1")
        except NotSentError as error:
            assert token not in _everything_shown(error, client)
        else:
            raise AssertionError("a closed port answered")


def test_token_with_spaces_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigError) as caught:
        StaticToken("T0K-abc def")
    assert caught.value.message == (
        "RMAPPLY_TOKEN contains spaces or characters outside visible ASCII"
    )
    assert "abc" not in f"{caught.value} {caught.value.hint}"
