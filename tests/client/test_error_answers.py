"""Every documented error answer surfaces as the right ApiError, with exact code and message."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken
from rmapply.client.responses import NO_TOKEN_HINT, RATE_LIMITED_HINT, REJECTED_HINT
from rmapply.client.retrying import RETRY_BUDGET_HINT
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import (
    ApiError,
    ApiErrorDetail,
    AuthenticationError,
    InvalidChangeError,
    NotFoundError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
)
from tests.client.conftest import MakeClient
from tests.client.plain_server import PlainServer

EmulatorFactory = Callable[..., Emulator]
RATE_LIMIT_MESSAGE = (
    "The client sent more requests than allowed by this API for the current tier of the client."
)


class NoToken:
    """Credentials without a token: the client then sends no Authorization header."""

    def authorization(self) -> str:
        return ""

    def renew(self, rejected: str) -> bool:
        return False

    def secret_values(self) -> tuple[str, ...]:
        return ()


@pytest.fixture
def unknown_id() -> str:
    return str(uuid.uuid4())


def test_missing_token_is_header_not_found_with_what_to_set(
    emulator: Emulator, make_client: MakeClient, unknown_id: str
) -> None:
    client = make_client(emulator, NoToken())
    with pytest.raises(AuthenticationError) as caught:
        client.get_job(unknown_id)
    error = caught.value
    assert (error.status, error.code) == (401, "HeaderNotFound")
    assert error.message == (
        f"GET /jobs/{unknown_id}: 401 HeaderNotFound: "
        "Header Authorization was not found in the request. Access denied."
    )
    assert error.hint == NO_TOKEN_HINT
    assert error.hint == (
        "no token was sent; set RMAPPLY_TOKEN, or RMAPPLY_CLIENT_ID and RMAPPLY_CLIENT_SECRET"
    )


def test_refused_static_token_is_unauthorized_and_not_retried(
    emulator_factory: EmulatorFactory, make_client: MakeClient, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(tokens=("the-good-token",)))
    client = make_client(emu, StaticToken("a-wrong-token"))
    with pytest.raises(AuthenticationError) as caught:
        client.engines_limit(itwin_id)
    assert caught.value.code == "Unauthorized"
    assert caught.value.message == (
        "GET /limits/engines: 401 Unauthorized: Access denied due to invalid access token."
    )
    assert emu.request_count("GET") == 1


@pytest.mark.parametrize(
    ("call", "method", "suffix"),
    [
        (lambda c, i: c.get_job(i), "GET", ""),
        (lambda c, i: c.get_progress(i), "GET", "/progress"),
        (lambda c, i: c.patch_job(i, wire.JobPatch(type=wire.JobType.FULL)), "PATCH", ""),
        (lambda c, i: c.submit_job(i), "PATCH", ""),
        (lambda c, i: c.cancel_job(i), "PATCH", ""),
        (lambda c, i: c.delete_job(i), "DELETE", ""),
    ],
)
def test_unknown_job_is_job_not_found(
    client: RealityModelingClient,
    unknown_id: str,
    call: Callable[[RealityModelingClient, str], object],
    method: str,
    suffix: str,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        call(client, unknown_id)
    assert (caught.value.status, caught.value.code) == (404, "JobNotFound")
    assert caught.value.message == (
        f"{method} /jobs/{unknown_id}{suffix}: 404 JobNotFound: Requested job is not available."
    )


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_workspace_is_workspace_not_found(
    client: RealityModelingClient, unknown_id: str, method: str
) -> None:
    call = client.get_workspace if method == "GET" else client.delete_workspace
    with pytest.raises(NotFoundError) as caught:
        call(unknown_id)
    assert caught.value.code == "WorkspaceNotFound"
    assert caught.value.message == (
        f"{method} /workspaces/{unknown_id}: 404 WorkspaceNotFound: "
        "Requested workspace is not available."
    )


def test_unknown_itwin_is_itwin_not_found_for_limits_and_listing(
    emulator_factory: EmulatorFactory, make_client: MakeClient, itwin_id: str, unknown_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(itwins=(itwin_id,)))
    client = make_client(emu)
    with pytest.raises(NotFoundError) as limits:
        client.engines_limit(unknown_id)
    assert limits.value.message == (
        "GET /limits/engines: 404 iTwinNotFound: Requested iTwin is not available."
    )
    with pytest.raises(NotFoundError) as listing:
        client.list_jobs_page(f"iTwinId eq {unknown_id}")
    assert listing.value.code == "iTwinNotFound"
    assert (
        listing.value.message == "GET /jobs: 404 iTwinNotFound: Requested iTwin is not available."
    )


def test_refused_job_creation_reports_every_detail(
    client: RealityModelingClient, emulator: Emulator, job_body: wire.JobCreation, unknown_id: str
) -> None:
    settings = job_body.settings.model_copy(
        update={
            "processing_engines": 99,
            "outputs": [wire.OutputFormat.OBJ, wire.OutputFormat.OBJ],
        }
    )
    body = job_body.model_copy(update={"workspace_id": unknown_id, "settings": settings})
    with pytest.raises(RequestRejectedError) as caught:
        client.create_job(body)
    error = caught.value
    assert (error.status, error.code, error.api_message) == (
        422,
        "InvalidContextCaptureRequest",
        "Cannot create job.",
    )
    assert error.details == (
        ApiErrorDetail(
            "InvalidParameter",
            "Invalid 'workspaceId' parameter. The workspace does not exist.",
            "workspaceId",
        ),
        ApiErrorDetail(
            "InvalidParameter",
            "Invalid 'processingEngines' parameter. "
            "It must be between 0 and the engine limit (25).",
            "settings.processingEngines",
        ),
        ApiErrorDetail(
            "InvalidParameter",
            "Invalid 'outputs' parameter. 'OBJ' is requested twice.",
            "settings.outputs[1]",
        ),
    )
    assert error.message == (
        "POST /jobs: 422 InvalidContextCaptureRequest: Cannot create job. "
        "workspaceId: Invalid 'workspaceId' parameter. The workspace does not exist. "
        "settings.processingEngines: Invalid 'processingEngines' parameter. "
        "It must be between 0 and the engine limit (25). "
        "settings.outputs[1]: Invalid 'outputs' parameter. 'OBJ' is requested twice."
    )
    assert error.hint == REJECTED_HINT
    assert emulator.jobs() == []


def test_refused_workspace_creation_is_request_rejected(
    emulator_factory: EmulatorFactory, make_client: MakeClient, itwin_id: str, unknown_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(itwins=(itwin_id,)))
    client = make_client(emu)
    with pytest.raises(RequestRejectedError) as caught:
        client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=unknown_id))
    assert caught.value.message == (
        "POST /workspaces: 422 InvalidContextCaptureRequest: Cannot create workspace. "
        "iTwinId: No processing cluster in project location."
    )
    assert caught.value.details == (
        ApiErrorDetail("InvalidParameter", "No processing cluster in project location.", "iTwinId"),
    )


def test_resubmitting_and_deleting_a_submitted_job_are_invalid_changes(
    client: RealityModelingClient, emulator: Emulator, job_body: wire.JobCreation
) -> None:
    job = client.create_job(job_body)
    client.submit_job(job.id)
    with pytest.raises(InvalidChangeError) as resubmit:
        client.submit_job(job.id)
    assert resubmit.value.message == (
        f"PATCH /jobs/{job.id}: 422 InvalidContextCaptureRequest: Cannot modify job. "
        "Cannot resubmit an already submitted job."
    )
    assert resubmit.value.details == (
        ApiErrorDetail("InvalidChange", "Cannot resubmit an already submitted job."),
    )
    with pytest.raises(InvalidChangeError) as delete:
        client.delete_job(job.id)
    assert delete.value.message == (
        f"DELETE /jobs/{job.id}: 422 InvalidContextCaptureRequest: Cannot delete job. "
        "Cannot delete an already submitted job."
    )
    assert emulator.request_count("PATCH") == 2


@pytest.mark.parametrize("top", [0, 1001])
def test_out_of_range_top_is_rejected_with_its_target(
    client: RealityModelingClient, itwin_id: str, top: int
) -> None:
    with pytest.raises(RequestRejectedError) as caught:
        client.list_jobs_page(f"iTwinId eq {itwin_id}", top=top)
    assert caught.value.code == "InvalidRealityModelingRequest"
    assert caught.value.details == (
        ApiErrorDetail(
            "InvalidParameter",
            "The $top query parameter value must be a positive integer that does not exceed 1000.",
            "$Top",
        ),
    )


def test_a_rate_limit_outlasting_the_retry_budget_fails_saying_how_long_and_what_next(
    emulator: Emulator, make_client: MakeClient, itwin_id: str
) -> None:
    # Retry-After 1 s against a budget of 1.5 s: the first 429 is waited out, the second one
    # (a second later) would pass the budget, so the call gives up after two sends
    client = make_client(emulator, retry=RetryPolicy(retry_budget=1.5))
    emulator.throttle_next(10, retry_after=1)
    with pytest.raises(RateLimitedError) as caught:
        client.engines_limit(itwin_id)
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
        429,
        "RateLimitExceeded",
        1.0,
    )
    assert caught.value.message == (
        f"GET /limits/engines: 429 RateLimitExceeded: {RATE_LIMIT_MESSAGE} (rate limited for "
        "1 s over 2 attempts; waiting longer would pass the retry budget of 1.5 s: run again "
        "later, or allow a longer wait with --retry-budget)"
    )
    assert caught.value.hint == RETRY_BUDGET_HINT
    assert "--retry-budget" in caught.value.hint and "changed nothing" in caught.value.hint
    assert emulator.request_count("GET", "/contextcapture/limits") == 2


def test_a_retry_after_beyond_the_retry_budget_gives_up_at_once(
    emulator: Emulator, make_client: MakeClient, itwin_id: str
) -> None:
    client = make_client(emulator, retry=RetryPolicy(retry_budget=60.0))
    emulator.throttle_next(1, retry_after=120)
    with pytest.raises(RateLimitedError) as caught:
        client.engines_limit(itwin_id)
    assert caught.value.retry_after == 120.0
    assert caught.value.message.endswith(
        "(rate limited for 0 s over 1 attempts; waiting longer would pass the retry budget of "
        "1 min: run again later, or allow a longer wait with --retry-budget)"
    )
    assert emulator.request_count("GET") == 1


def test_without_a_retry_budget_a_429_surfaces_at_once(
    emulator: Emulator, make_client: MakeClient, itwin_id: str
) -> None:
    client = make_client(emulator, retry=RetryPolicy.none())
    emulator.throttle_next(2, retry_after=0)  # even a 429 that asks for no wait at all
    with pytest.raises(RateLimitedError) as caught:
        client.engines_limit(itwin_id)
    assert (
        caught.value.message == f"GET /limits/engines: 429 RateLimitExceeded: {RATE_LIMIT_MESSAGE}"
    )
    assert caught.value.hint == RATE_LIMITED_HINT
    assert emulator.request_count("GET") == 1


def test_server_error_on_post_is_not_resent(
    client: RealityModelingClient, emulator: Emulator, job_body: wire.JobCreation
) -> None:
    emulator.fail_next(1, status=503, method="POST")
    with pytest.raises(ServerError) as caught:
        client.create_job(job_body)
    assert caught.value.message == (
        "POST /jobs: 503 ServiceUnavailable: The service is temporarily unavailable. "
        "Try again later."
    )
    assert caught.value.hint is not None and "not sent again" in caught.value.hint
    assert emulator.request_count("POST", "/contextcapture/jobs") == 1


def test_server_errors_on_get_are_retried_until_the_bound(
    client: RealityModelingClient, emulator: Emulator, unknown_id: str
) -> None:
    emulator.fail_next(10, status=500, method="GET")
    with pytest.raises(ServerError) as caught:
        client.get_job(unknown_id)
    assert caught.value.message == (
        f"GET /jobs/{unknown_id}: 500 InjectedFault: A fault was injected by the emulator. "
        "(after 4 attempts)"
    )
    assert emulator.request_count("GET") == 4


@pytest.fixture
def html_server() -> Iterator[PlainServer]:
    with PlainServer(502, b"<html><body>Bad gateway</body></html>", "text/html") as server:
        yield server


def test_error_answer_without_a_json_body_names_status_and_reason(
    make_client: MakeClient, html_server: PlainServer, unknown_id: str
) -> None:
    client = make_client(html_server.url, retry=RetryPolicy.none())
    with pytest.raises(ServerError) as caught:
        client.get_job(unknown_id)
    assert (caught.value.status, caught.value.code) == (502, None)
    assert caught.value.message == (
        f"GET /jobs/{unknown_id}: 502 Bad Gateway (the answer carried no API error body)"
    )


def test_success_answer_that_is_not_json_is_an_api_error(make_client: MakeClient) -> None:
    with PlainServer(200, b"<html>portal</html>", "text/html") as server:
        client = make_client(server.url)
        with pytest.raises(ApiError) as caught:
            client.engines_limit()
    assert caught.value.message == (
        "GET /limits/engines: 200 answer could not be read as EnginesLimitResponse: "
        "the body is not JSON"
    )
