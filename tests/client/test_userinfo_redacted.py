"""A URL's userinfo (``https://user:password@host/``) never shows in an error, a hint or a repr."""

from __future__ import annotations

import socket
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmapply.client import ClientCredentials, RealityModelingClient, RetryPolicy, StaticToken
from rmapply.emulator import Emulator
from rmapply.errors import ApiError, ConfigError, NotSentError, RmapplyError, redact_urls
from tests.client.test_no_secret_in_errors import _everything_shown

PASSWORD = "pw-S3CRET-9"

# What a user may put before the "@": anything but the URL's own delimiters and blanks.
userinfo = st.text(
    st.characters(codec="utf-8", exclude_characters="/?#", exclude_categories=("Z", "C")),
    min_size=1,
    max_size=30,
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@given(user=userinfo, scheme=st.sampled_from(["http", "https", "HTTPS", "ftp", "git+ssh"]))
def test_redact_urls_hides_any_userinfo_and_keeps_the_rest(user: str, scheme: str) -> None:
    text = f"POST {scheme}://{user}@api.example.com:8443/contextcapture/jobs?x=1: refused"
    shown = redact_urls(text)
    assert shown == f"POST {scheme}://***@api.example.com:8443/contextcapture/jobs?x=1: refused"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://u:p@ss@host/", "https://***@host/"),  # an unencoded '@' in the password
        ("'https://u:p@host' and mail@example.com", "'https://***@host' and mail@example.com"),
        ("a https://h/x?to=u:p@v and b http://u@h", "a https://h/x?to=u:p@v and b http://***@h"),
        ("user@example.com wrote", "user@example.com wrote"),
        ("no url here", "no url here"),
    ],
)
def test_redact_urls_touches_only_the_userinfo_of_urls(text: str, shown: str) -> None:
    assert redact_urls(text) == shown


def test_every_error_redacts_its_message_hint_and_path() -> None:
    error = ApiError(
        f"POST https://me:{PASSWORD}@h/connect/token: refused",
        path=f"https://me:{PASSWORD}@h/connect/token",
        hint=f"check https://me:{PASSWORD}@h/",
    )
    assert PASSWORD not in f"{error} {error.message} {error.hint} {error.path} {error.args}"
    assert error.message == "POST https://***@h/connect/token: refused"
    assert str(RmapplyError(f"at http://{PASSWORD}@h")) == "at http://***@h"


def test_a_client_of_an_endpoint_with_userinfo_never_shows_it() -> None:
    base = f"http://me:{PASSWORD}@127.0.0.1:{_closed_port()}/contextcapture"
    with RealityModelingClient(base, StaticToken("t0ken"), retry=RetryPolicy.none()) as client:
        with pytest.raises(NotSentError) as caught:
            client.get_job("job-1")
        assert PASSWORD not in _everything_shown(caught.value, client)
        assert "could not connect to 127.0.0.1:" in caught.value.message


def test_an_endpoint_with_userinfo_that_is_not_http_is_refused_without_it() -> None:
    with pytest.raises(ConfigError) as caught:
        RealityModelingClient(f"ftp://me:{PASSWORD}@h/x", StaticToken("t0ken"))
    assert caught.value.message == "endpoint 'ftp://***@h/x' is not an http(s) URL"


def test_a_token_url_with_userinfo_never_shows_it(emulator: Emulator) -> None:
    # The emulator's token endpoint refuses an unknown grant... here: a path that is not one.
    root = emulator.token_url.removesuffix("/connect/token")
    token_url = root.replace("http://", f"http://me:{quote(PASSWORD)}@") + "/nowhere"
    auth = ClientCredentials("app", "s", token_url=token_url, retry=RetryPolicy.none())
    with RealityModelingClient(emulator.base_url, auth, retry=RetryPolicy.none()) as client:
        with pytest.raises(ApiError) as caught:
            client.engines_limit()
        assert PASSWORD not in _everything_shown(caught.value, client)
        assert "http://***@127.0.0.1:" in caught.value.message
