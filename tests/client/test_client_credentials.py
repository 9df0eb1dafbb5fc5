"""Client credentials end to end: token endpoint, caching, one renewal on 401, refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rmapply.client import ClientCredentials, ClientEvent, RetryPolicy, TokenRefreshed
from rmapply.client.caller import RENEWED_TOKEN_REFUSED_HINT
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import AuthenticationError, NotSentError
from tests.client.conftest import MakeClient

EmulatorFactory = Callable[..., Emulator]
CLIENT_ID = "service-app"
CLIENT_SECRET = "S3C-client-secret-value"
TOKEN_PATH = "/connect/token"


@pytest.fixture
def ims(emulator_factory: EmulatorFactory) -> Emulator:
    """An emulator that only accepts tokens it issued to the registered client."""
    return emulator_factory(EmulatorOptions(clients={CLIENT_ID: CLIENT_SECRET}, speed=1000))


def _credentials(
    emu: Emulator, secret: str = CLIENT_SECRET, clock: Callable[[], float] | None = None
) -> ClientCredentials:
    if clock is None:
        return ClientCredentials(
            CLIENT_ID, secret, token_url=emu.token_url, retry=RetryPolicy.fast()
        )
    return ClientCredentials(
        CLIENT_ID, secret, token_url=emu.token_url, retry=RetryPolicy.fast(), clock=clock
    )


def test_token_is_fetched_once_and_reused_by_later_calls(
    ims: Emulator, make_client: MakeClient, itwin_id: str
) -> None:
    auth = _credentials(ims)
    client = make_client(ims, auth)
    for _ in range(3):
        assert client.engines_limit(itwin_id).max_engines == 25
    assert ims.request_count("POST", TOKEN_PATH) == 1
    assert ims.request_count("GET", "/contextcapture/limits") == 3
    auth.close()


def test_expired_token_is_renewed_once_on_401_and_the_call_succeeds(
    ims: Emulator, make_client: MakeClient, itwin_id: str, events: list[ClientEvent]
) -> None:
    auth = _credentials(ims)
    client = make_client(ims, auth)
    client.engines_limit(itwin_id)
    ims.advance(2 * 3600)  # the service's clock: the cached token has expired there
    assert client.engines_limit(itwin_id).max_engines == 25
    assert ims.request_count("POST", TOKEN_PATH) == 2
    assert ims.request_count("GET", "/contextcapture/limits") == 3
    assert events == [TokenRefreshed("GET", "/limits/engines")]
    auth.close()


def test_token_refused_even_after_renewal_surfaces_after_exactly_one_renewal(
    ims: Emulator, emulator_factory: EmulatorFactory, make_client: MakeClient, itwin_id: str
) -> None:
    stranger = emulator_factory(EmulatorOptions(tokens=("only-this-token",)))
    auth = _credentials(ims)  # tokens from ims, which the stranger does not accept
    client = make_client(stranger, auth)
    with pytest.raises(AuthenticationError) as caught:
        client.engines_limit(itwin_id)
    assert caught.value.code == "Unauthorized"
    assert caught.value.hint == RENEWED_TOKEN_REFUSED_HINT
    assert ims.request_count("POST", TOKEN_PATH) == 2
    assert stranger.request_count("GET") == 2
    auth.close()


def test_cached_token_is_replaced_300_seconds_before_it_expires(
    ims: Emulator, make_client: MakeClient, itwin_id: str
) -> None:
    now = [1000.0]
    auth = _credentials(ims, clock=lambda: now[0])
    client = make_client(ims, auth)
    client.engines_limit(itwin_id)
    now[0] += 3600 - 300 - 1
    client.engines_limit(itwin_id)
    assert ims.request_count("POST", TOKEN_PATH) == 1
    now[0] += 1
    client.engines_limit(itwin_id)
    assert ims.request_count("POST", TOKEN_PATH) == 2
    auth.close()


def test_short_lived_token_gets_half_its_lifetime_as_margin(
    emulator_factory: EmulatorFactory, make_client: MakeClient, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(clients={CLIENT_ID: CLIENT_SECRET}, token_lifetime=60))
    now = [0.0]
    auth = _credentials(emu, clock=lambda: now[0])
    client = make_client(emu, auth)
    client.engines_limit(itwin_id)
    now[0] = 29.0
    client.engines_limit(itwin_id)
    assert emu.request_count("POST", TOKEN_PATH) == 1
    now[0] = 30.0
    client.engines_limit(itwin_id)
    assert emu.request_count("POST", TOKEN_PATH) == 2
    auth.close()


def test_wrong_client_secret_is_an_authentication_error_without_the_secret(
    ims: Emulator, make_client: MakeClient, itwin_id: str
) -> None:
    auth = _credentials(ims, secret="S3C-wrong-secret")
    client = make_client(ims, auth)
    with pytest.raises(AuthenticationError) as caught:
        client.engines_limit(itwin_id)
    error = caught.value
    assert (error.status, error.code) == (401, "invalid_client")
    assert (
        error.message == f"POST {ims.token_url}: 401 invalid_client: Client authentication failed."
    )
    assert error.hint is not None and "RMAPPLY_CLIENT_SECRET" in error.hint
    assert "S3C-wrong-secret" not in f"{error} {error.hint} {error!r}"
    assert ims.request_count("GET") == 0
    auth.close()


def test_unreachable_token_endpoint_is_not_sent(
    ims: Emulator, make_client: MakeClient, itwin_id: str
) -> None:
    ims.fail_next(10, status=503, method="POST", path_prefix=TOKEN_PATH)
    auth = _credentials(ims)
    client = make_client(ims, auth)
    with pytest.raises(NotSentError) as caught:
        client.engines_limit(itwin_id)
    assert caught.value.message.startswith(f"could not get a token: POST {ims.token_url}: 503")
    assert ims.request_count("POST", TOKEN_PATH) == 4
    assert ims.request_count("GET") == 0
    auth.close()
