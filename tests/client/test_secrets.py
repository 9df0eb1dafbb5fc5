"""Secrets and credentials never show their values: reprs, str, format, errors, pickles."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmapply.client import ClientCredentials, Secret, StaticToken, auth_from_env
from rmapply.client.secrets import redact
from rmapply.errors import ConfigError

# A marker prefix keeps hypothesis from "finding" secrets that are just parts of a URL or name.
secret_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=4, max_size=60
).map(lambda s: f"S3C-{s}")


@given(secret_text)
def test_secret_shows_only_stars_in_repr_str_and_format(value: str) -> None:
    secret = Secret(value)
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>80}"):
        assert value not in shown
    assert repr([secret]) == "[Secret('***')]"
    assert secret.reveal() == value


@given(secret_text)
def test_credentials_reprs_do_not_contain_the_secret(value: str) -> None:
    token = StaticToken(value)
    creds = ClientCredentials("my-client", value, token_url="http://127.0.0.1:9/connect/token")
    try:
        assert value not in repr(token)
        assert value not in str(token)
        assert value not in repr(creds)
        assert value not in str(vars(creds))
    finally:
        creds.close()


def test_secret_cannot_be_pickled_and_copies_are_itself() -> None:
    secret = Secret("s3cr3t-value")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    assert copy.deepcopy(secret) is secret
    assert copy.copy(secret) is secret


def test_secret_equality_compares_values_without_revealing_them() -> None:
    assert Secret("abcdefgh") == Secret("abcdefgh")
    assert Secret("abcdefgh") != Secret("abcdefgi")
    assert len({Secret("abcdefgh"), Secret("abcdefgh")}) == 1


@given(secret_text, st.text(max_size=40), st.text(max_size=40))
def test_redact_removes_every_occurrence(value: str, before: str, after: str) -> None:
    text = f"{before}{value}{after}{value}"
    assert value not in redact(text, [value])


def test_static_token_strips_a_bearer_prefix() -> None:
    assert StaticToken("Bearer abc.def").authorization() == "Bearer abc.def"
    assert StaticToken("  abc.def ").authorization() == "Bearer abc.def"


def test_auth_from_env_prefers_the_token() -> None:
    auth = auth_from_env(
        {"RMAPPLY_TOKEN": "tok-1234", "RMAPPLY_CLIENT_ID": "c", "RMAPPLY_CLIENT_SECRET": "s"}
    )
    assert isinstance(auth, StaticToken)
    assert auth.authorization() == "Bearer tok-1234"


def test_auth_from_env_builds_client_credentials_with_the_token_url() -> None:
    auth = auth_from_env(
        {
            "RMAPPLY_CLIENT_ID": "service-app",
            "RMAPPLY_CLIENT_SECRET": "very-secret-value",
            "RMAPPLY_TOKEN_URL": "http://127.0.0.1:9/connect/token",
        }
    )
    assert isinstance(auth, ClientCredentials)
    assert auth.client_id == "service-app"
    assert auth.token_url == "http://127.0.0.1:9/connect/token"
    assert auth.scope == "itwin-platform"
    assert "very-secret-value" not in repr(auth)
    auth.close()


def test_auth_from_env_defaults_to_the_bentley_token_endpoint() -> None:
    auth = auth_from_env({"RMAPPLY_CLIENT_ID": "a", "RMAPPLY_CLIENT_SECRET": "b"})
    assert isinstance(auth, ClientCredentials)
    assert auth.token_url == "https://ims.bentley.com/connect/token"
    auth.close()


def test_auth_from_env_without_credentials_says_what_to_set() -> None:
    with pytest.raises(ConfigError) as caught:
        auth_from_env({"RMAPPLY_TOKEN": "  "})
    assert caught.value.message == "no credentials for the Reality Modeling API"
    assert caught.value.hint == (
        "set RMAPPLY_TOKEN to an access token, or RMAPPLY_CLIENT_ID and RMAPPLY_CLIENT_SECRET "
        "of a service application with the 'itwin-platform' scope"
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RMAPPLY_CLIENT_ID": "app"}, "RMAPPLY_CLIENT_ID is set but RMAPPLY_CLIENT_SECRET is not"),
        (
            {"RMAPPLY_CLIENT_SECRET": "hidden-secret"},
            "RMAPPLY_CLIENT_SECRET is set but RMAPPLY_CLIENT_ID is not",
        ),
    ],
)
def test_auth_from_env_with_half_the_credentials_names_the_missing_one(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        auth_from_env(environ)
    assert caught.value.message == message
    assert "hidden-secret" not in f"{caught.value} {caught.value.hint}"
