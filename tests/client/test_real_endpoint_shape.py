"""The client speaks to the real service as the service expects: URLs, headers, IMS, answers.

A plain local server records exactly what arrives and answers with the official examples (their
.NET date-times, the absolute next-page link of api.bentley.com), so nothing here depends on
the emulator being lenient.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rmapply import __version__, wire
from rmapply.client import (
    DEFAULT_SCOPE,
    IMS_TOKEN_URL,
    ClientCredentials,
    RealityModelingClient,
    RetryPolicy,
    StaticToken,
)
from rmapply.errors import ApiError
from tests.client.conftest import MakeClient, page_examples
from tests.client.plain_server import PlainServer
from tests.reference import openapi

MEDIA_TYPE = "application/vnd.bentley.itwin-platform.v1+json"


def _spec_example(path: str, method: str, status: str) -> dict[str, Any]:
    operation = openapi()["paths"][path][method]
    example: dict[str, Any] = operation["responses"][status]["content"]["application/json"][
        "example"
    ]
    return copy.deepcopy(example)  # the spec is cached for every test


def _serve(example: dict[str, Any], status: int = 200) -> PlainServer:
    return PlainServer(status, json.dumps(example).encode(), "application/json")


def test_the_default_endpoints_are_bentleys() -> None:
    client = RealityModelingClient(auth=StaticToken("t0ken-value"))
    assert client.base_url == "https://api.bentley.com/contextcapture"
    credentials = ClientCredentials("app", "secret")
    assert (credentials.token_url, credentials.scope) == (IMS_TOKEN_URL, DEFAULT_SCOPE)
    assert (IMS_TOKEN_URL, DEFAULT_SCOPE) == (
        "https://ims.bentley.com/connect/token",
        "itwin-platform",
    )
    client.close()
    credentials.close()


def test_every_request_carries_the_headers_the_api_expects(make_client: MakeClient) -> None:
    job = _spec_example("/jobs/{id}", "get", "200")
    request, _ = page_examples()
    with _serve(job) as server:
        client = make_client(server.url, StaticToken("t0ken-value"))
        client.get_job("cc3d35cc-416a-4262-9714-b359da70b419")
        client.create_job(wire.JobCreation.from_wire(request))
    get, post = server.seen
    for seen in (get, post):
        assert seen.headers["authorization"] == "Bearer t0ken-value"
        assert seen.headers["accept"] == MEDIA_TYPE
        assert seen.headers["user-agent"] == f"rmapply/{__version__}"
    assert (get.method, get.target, get.body) == (
        "GET",
        "/contextcapture/jobs/cc3d35cc-416a-4262-9714-b359da70b419",
        b"",
    )
    assert "content-type" not in get.headers
    assert (post.method, post.target) == ("POST", "/contextcapture/jobs")
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.body) == request


@pytest.mark.parametrize("suffix", ["", "/"])
def test_the_base_url_path_is_kept_with_or_without_a_trailing_slash(
    make_client: MakeClient, suffix: str
) -> None:
    with _serve(_spec_example("/limits/engines", "get", "200")) as server:
        client = make_client(server.url + suffix)
        assert client.engines_limit("3fa85f64-5717-4562-b3fc-2c963f66afa6").max_engines == 25
    assert server.seen[0].target == (
        "/contextcapture/limits/engines?iTwinId=3fa85f64-5717-4562-b3fc-2c963f66afa6"
    )


def test_official_answers_with_net_date_times_parse(make_client: MakeClient) -> None:
    with _serve(_spec_example("/jobs/{id}", "get", "200")) as server:
        job = make_client(server.url).get_job("cc3d35cc-416a-4262-9714-b359da70b419")
    assert job.execution_information is not None
    assert job.execution_information.submitted_date_time.isoformat() == (
        "2020-09-14T14:34:20+00:00"
    )
    assert job.state is wire.JobState.SUCCESS


def test_the_continuation_token_comes_from_the_absolute_next_link_of_the_real_service(
    make_client: MakeClient,
) -> None:
    page = _spec_example("/jobs", "get", "200")
    href = page["_links"]["next"]["href"]
    assert href.startswith("https://api.bentley.com/contextcapture/jobs?$filter=iTwinId eq ")
    with _serve(page) as server:
        client = make_client(server.url)
        jobs, token = client.list_jobs_page("iTwinId eq 510cd1a3-3703-4729-b08c-fecd9c87c3be")
        assert token == "MzY3ZmY1ZDEtNDEzOS00ZGU1LTg0MjMtN2I5NmVkZDAyN2M0"
        assert [j.id for j in jobs] == ["cc3d35cc-416a-4262-9714-b359da70b419"]
        client.list_jobs_page("iTwinId eq 510cd1a3-3703-4729-b08c-fecd9c87c3be", top=2,
                              continuation_token=token)  # fmt: skip
    first, second = (parse_qs(urlsplit(s.target).query) for s in server.seen)
    assert first == {"$filter": ["iTwinId eq 510cd1a3-3703-4729-b08c-fecd9c87c3be"]}
    assert second == {
        "$filter": ["iTwinId eq 510cd1a3-3703-4729-b08c-fecd9c87c3be"],
        "$top": ["2"],
        "continuationToken": ["MzY3ZmY1ZDEtNDEzOS00ZGU1LTg0MjMtN2I5NmVkZDAyN2M0"],
    }


@pytest.mark.parametrize(
    ("in_link", "token"),
    [
        ("ab%2Bcd%2F%3D%3D", "ab+cd/=="),  # percent-encoded base64
        ("ab+cd/==", "ab+cd/=="),  # written raw: '+' is part of the token, not a space
    ],
)
def test_a_base64_continuation_token_survives_the_round_trip(
    make_client: MakeClient, in_link: str, token: str
) -> None:
    page = {"jobs": [], "_links": {"next": {"href": f"https://x/jobs?continuationToken={in_link}"}}}
    with _serve(page) as server:
        client = make_client(server.url)
        _, found = client.list_jobs_page("name eq 'a'")
        assert found == token
        client.list_jobs_page("name eq 'a'", continuation_token=found)
    assert parse_qs(urlsplit(server.seen[1].target).query)["continuationToken"] == [token]


def test_answers_with_fields_the_spec_does_not_know_still_parse(make_client: MakeClient) -> None:
    job = _spec_example("/jobs/{id}", "get", "200")
    job["job"]["dataCenter"] = "East US"  # the v1 TypeScript SDK reads it; the spec lacks it
    job["job"]["jobSettings"]["outputs"][0]["location"] = "blob"
    job["requestId"] = "42"
    with _serve(job) as server:
        parsed = make_client(server.url).get_job("cc3d35cc-416a-4262-9714-b359da70b419")
    assert parsed.output_ids() == {
        "OBJ": "3ddee08c-01e8-44a5-8e56-3879109f6728",
        "3MX": "f18fc6c3-2224-4d63-a04b-52bd18805d01",
    }


def test_the_ims_token_request_is_a_form_post_of_the_client_credentials() -> None:
    answer = {"access_token": "issued-t0ken", "token_type": "Bearer", "expires_in": 3600}
    with PlainServer(200, json.dumps(answer).encode(), "application/json") as ims:
        token_url = ims.url.replace("/contextcapture", "/connect/token")
        credentials = ClientCredentials(
            "my-service-app", "my-secret", token_url=token_url, retry=RetryPolicy.none()
        )
        assert credentials.authorization() == "Bearer issued-t0ken"
        credentials.close()
    (seen,) = ims.seen
    assert (seen.method, seen.target) == ("POST", "/connect/token")
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(seen.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": ["my-service-app"],
        "client_secret": ["my-secret"],
        "scope": ["itwin-platform"],
    }


def test_an_answer_with_a_value_rmapply_does_not_know_says_to_upgrade(
    make_client: MakeClient,
) -> None:
    job = _spec_example("/jobs/{id}", "get", "200")
    job["job"]["location"] = "Brazil South"
    with _serve(job) as server, pytest.raises(ApiError) as caught:
        make_client(server.url).get_job("cc3d35cc-416a-4262-9714-b359da70b419")
    assert caught.value.message.startswith(
        "GET /jobs/cc3d35cc-416a-4262-9714-b359da70b419: 200 answer could not be read as "
        "JobResponse: 1 problem(s), first at job.location: Input should be 'East US'"
    )
    assert caught.value.hint == (
        "the service sent a value this version of rmapply does not know (a new format, "
        "location or state?); upgrade rmapply"
    )
