"""Bearer tokens and the IMS-like token endpoint (client credentials), expiry included."""

from __future__ import annotations

import base64
from collections.abc import Callable

import requests

from rmapply.emulator import Emulator, EmulatorOptions
from tests.emulator.conftest import TIMEOUT, Api

CLIENTS = {"service-app": "s3cret"}


def _token(emu: Emulator, **form: str) -> requests.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": "service-app",
        "client_secret": "s3cret",
        "scope": "itwin-platform",
    }
    body.update(form)
    return requests.post(emu.token_url, data=body, timeout=TIMEOUT)


def test_the_token_endpoint_issues_a_bearer_token_the_api_accepts(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(EmulatorOptions(clients=CLIENTS))
    answer = _token(emu)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert answer.headers["Cache-Control"] == "no-store"
    api = Api(emu, body["access_token"])
    workspace = api.post("/workspaces", json={"name": "w"})
    assert workspace.status_code == 201
    job = api.create_job(workspace.json()["workspace"]["id"])
    assert job["email"] == "service-app@apps.imsoidc.bentley.com"
    api.close()


def test_client_credentials_in_a_basic_header_are_accepted(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(EmulatorOptions(clients=CLIENTS))
    basic = base64.b64encode(b"service-app:s3cret").decode()
    answer = requests.post(
        emu.token_url,
        data={"grant_type": "client_credentials", "scope": "itwin-platform"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200


def test_the_token_endpoint_refuses_bad_requests_as_oauth_does(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(EmulatorOptions(clients=CLIENTS))
    cases = [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"scope": "everything"}, 400, "invalid_scope"),
        ({"scope": ""}, 400, "invalid_scope"),
    ]
    for form, status, error in cases:
        answer = _token(emu, **form)
        assert (answer.status_code, answer.json()["error"]) == (status, error), form
        assert "s3cret" not in answer.text


def test_an_expired_token_is_refused_and_a_new_one_works(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(EmulatorOptions(clients=CLIENTS, speed=0))
    old = Api(emu, _token(emu).json()["access_token"])
    assert old.get("/limits/engines").status_code == 200
    emu.advance(3600)
    answer = old.get("/limits/engines")
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"code": "Unauthorized", "message": "Access denied due to expired access token."}
    }
    fresh = Api(emu, _token(emu).json()["access_token"])
    assert fresh.get("/limits/engines").status_code == 200
    old.close()
    fresh.close()


def test_expire_tokens_makes_every_issued_token_expire_at_once(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(EmulatorOptions(clients=CLIENTS))
    api = Api(emu, emu.issue_token("service-app"))
    assert api.get("/limits/engines").status_code == 200
    emu.expire_tokens()
    assert api.get("/limits/engines").status_code == 401
    api.close()


def test_a_short_token_lifetime_is_reported_in_expires_in(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(EmulatorOptions(clients=CLIENTS, token_lifetime=60))
    assert _token(emu).json()["expires_in"] == 60


def test_with_registered_clients_unknown_tokens_are_refused(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(EmulatorOptions(clients=CLIENTS))
    api = Api(emu, "made-up")
    assert api.get("/limits/engines").json()["error"]["code"] == "Unauthorized"
    api.close()


def test_with_tokens_configured_only_those_are_accepted(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(EmulatorOptions(tokens=("good",)))
    good, bad = Api(emu, "good"), Api(emu, "bad")
    assert good.get("/limits/engines").status_code == 200
    answer = bad.get("/limits/engines")
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"code": "Unauthorized", "message": "Access denied due to invalid access token."}
    }
    good.close()
    bad.close()


def test_the_token_endpoint_only_takes_post(emulator: Emulator) -> None:
    answer = requests.get(emulator.token_url, timeout=TIMEOUT)
    assert answer.status_code == 405


def test_in_open_mode_any_client_gets_a_token_that_still_expires(emulator: Emulator) -> None:
    answer = requests.post(
        emulator.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "whoever",
            "client_secret": "whatever",
            "scope": "itwin-platform",
        },
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200
    api = Api(emulator, answer.json()["access_token"])
    assert api.get("/limits/engines").status_code == 200
    emulator.expire_tokens()
    assert api.get("/limits/engines").json()["error"]["code"] == "Unauthorized"
    api.close()
