"""Lost answers: a POST is never re-sent, idempotent calls are, and state changes are verified."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from rmapply import wire
from rmapply.client import (
    ClientEvent,
    OutcomeVerified,
    RealityModelingClient,
    RetryPolicy,
    RetryScheduled,
)
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import NotSentError, OutcomeUnknownError, ServerError
from tests.client.conftest import MakeClient, page_examples

JOBS = "/contextcapture/jobs"


def test_dropped_answer_to_a_post_is_outcome_unknown_and_not_resent(
    client: RealityModelingClient, emulator: Emulator, job_body: wire.JobCreation
) -> None:
    emulator.drop_next(1, method="POST", path_prefix=JOBS)
    with pytest.raises(OutcomeUnknownError) as caught:
        client.create_job(job_body)
    assert caught.value.message == (
        "POST /jobs: the connection was closed before an answer came back; "
        "the request may have been processed"
    )
    assert emulator.request_count("POST", JOBS) == 1
    assert [j.name for j in emulator.jobs()] == [job_body.name]


def test_dropped_answer_to_a_workspace_post_is_not_resent(
    client: RealityModelingClient, emulator: Emulator, itwin_id: str
) -> None:
    emulator.drop_next(1, method="POST", path_prefix="/contextcapture/workspaces")
    with pytest.raises(OutcomeUnknownError):
        client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=itwin_id))
    assert emulator.request_count("POST", "/contextcapture/workspaces") == 1
    assert [w.name for w in emulator.workspaces()] == ["w"]


def test_dropped_answer_to_a_get_is_retried_and_succeeds(
    client: RealityModelingClient,
    emulator: Emulator,
    job_body: wire.JobCreation,
    events: list[ClientEvent],
) -> None:
    job = client.create_job(job_body)
    emulator.drop_next(2, method="GET", path_prefix=JOBS)
    assert client.get_job(job.id) == job
    assert emulator.request_count("GET", JOBS) == 3
    retries = [e for e in events if isinstance(e, RetryScheduled)]
    assert [(e.method, e.attempt, e.reason) for e in retries] == [
        ("GET", 2, "no-answer"),
        ("GET", 3, "no-answer"),
    ]


def test_dropped_answer_to_a_settings_patch_is_retried(
    client: RealityModelingClient, emulator: Emulator, job_body: wire.JobCreation
) -> None:
    job = client.create_job(job_body)
    emulator.drop_next(1, method="PATCH", path_prefix=JOBS)
    patch = wire.JobPatch(settings=wire.JobPatchSettings(quality=wire.Quality.MEDIUM))
    assert client.patch_job(job.id, patch).job_settings.quality is wire.Quality.MEDIUM
    assert emulator.request_count("PATCH", JOBS) == 2


def test_dropped_answer_to_a_delete_that_was_processed_counts_as_deleted(
    client: RealityModelingClient, emulator: Emulator, job_body: wire.JobCreation
) -> None:
    job = client.create_job(job_body)
    emulator.drop_next(1, method="DELETE", path_prefix=JOBS)
    client.delete_job(job.id)
    assert emulator.request_count("DELETE", JOBS) == 2
    assert emulator.jobs() == []


def test_lost_submit_answer_is_verified_with_a_get_and_not_resent(
    client: RealityModelingClient,
    emulator: Emulator,
    job_body: wire.JobCreation,
    events: list[ClientEvent],
) -> None:
    job = client.create_job(job_body)
    emulator.drop_next(1, method="PATCH", path_prefix=JOBS)
    gets_before = emulator.request_count("GET", JOBS)
    submitted = client.submit_job(job.id)
    assert submitted.state is not wire.JobState.UNSUBMITTED
    assert emulator.request_count("PATCH", JOBS) == 1
    assert emulator.request_count("GET", JOBS) - gets_before == 1
    assert OutcomeVerified("PATCH", f"/jobs/{job.id}", submitted.state.value) in events


def test_submit_that_did_not_happen_is_sent_again_after_the_get(
    client: RealityModelingClient, emulator: Emulator, job_body: wire.JobCreation
) -> None:
    job = client.create_job(job_body)
    emulator.fail_next(1, status=503, method="PATCH", path_prefix=JOBS)  # refused unprocessed
    submitted = client.submit_job(job.id)
    assert submitted.state is wire.JobState.ACTIVE
    assert emulator.request_count("PATCH", JOBS) == 2


def test_submit_is_sent_at_most_verify_attempts_times(
    emulator: Emulator, make_client: MakeClient, job_body: wire.JobCreation
) -> None:
    client = make_client(emulator, retry=RetryPolicy.fast()._replace(verify_attempts=2))
    job = client.create_job(job_body)
    emulator.fail_next(5, status=503, method="PATCH", path_prefix=JOBS)
    with pytest.raises(ServerError):
        client.submit_job(job.id)
    assert emulator.request_count("PATCH", JOBS) == 2
    assert emulator.job(job.id).state is wire.JobState.UNSUBMITTED  # type: ignore[union-attr]


def test_lost_cancel_answer_is_verified_with_a_get(
    emulator_factory: Callable[..., Emulator], make_client: MakeClient, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(speed=1.0))  # the job stays active while we cancel
    client = make_client(emu)
    space = client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=itwin_id))
    request, _ = page_examples()
    job = client.create_job(wire.JobCreation.from_wire({**request, "workspaceId": space.id}))
    client.submit_job(job.id)
    emu.drop_next(1, method="PATCH", path_prefix=JOBS)
    assert client.cancel_job(job.id).state is wire.JobState.CANCELLED
    assert emu.request_count("PATCH", JOBS) == 2  # the submit and the one cancel


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_connection_refused_is_not_sent_after_bounded_retries(
    make_client: MakeClient,
    events: list[ClientEvent],
    job_body: wire.JobCreation,
    method: str,
) -> None:
    port = _closed_port()
    client = make_client(f"http://127.0.0.1:{port}/contextcapture")
    with pytest.raises(NotSentError) as caught:
        if method == "GET":
            client.get_job("some-job")
        else:
            client.create_job(job_body)
    path = "/jobs/some-job" if method == "GET" else "/jobs"
    assert caught.value.message == (
        f"{method} {path}: could not connect to 127.0.0.1:{port} (connection refused) "
        "(after 4 attempts)"
    )
    assert caught.value.hint is not None and "safe to run again" in caught.value.hint
    retries = [e for e in events if isinstance(e, RetryScheduled)]
    assert [(e.attempt, e.reason) for e in retries] == [
        (2, "not-sent"),
        (3, "not-sent"),
        (4, "not-sent"),
    ]


def test_read_timeout_on_a_post_is_outcome_unknown_and_the_job_exists_anyway(
    emulator: Emulator, make_client: MakeClient, job_body: wire.JobCreation
) -> None:
    client = make_client(emulator, timeout=(2.0, 0.2))
    emulator.set_faults(latency_ms=800)  # the service is slow, but does the work
    with pytest.raises(OutcomeUnknownError) as caught:
        client.create_job(job_body)
    assert caught.value.message == (
        "POST /jobs: no answer within the read timeout; the request may have been processed"
    )
    assert emulator.request_count("POST", JOBS) == 1
    emulator.set_faults(latency_ms=0)
    deadline = time.monotonic() + 10
    while not emulator.jobs() and time.monotonic() < deadline:
        time.sleep(0.05)  # the slow request is still being processed
    assert [j.name for j in emulator.jobs()] == [job_body.name]
    assert emulator.request_count("POST", JOBS) == 1


def test_read_timeouts_on_a_get_are_retried_until_the_bound(
    emulator: Emulator, make_client: MakeClient, events: list[ClientEvent]
) -> None:
    client = make_client(emulator, timeout=(2.0, 0.1))
    emulator.set_faults(latency_ms=400)
    with pytest.raises(OutcomeUnknownError) as caught:
        client.get_job("some-job")
    assert caught.value.message == (
        "GET /jobs/some-job: no answer within the read timeout (after 4 attempts)"
    )
    assert emulator.request_count("GET", JOBS) == 4
    retries = [e for e in events if isinstance(e, RetryScheduled)]
    assert [(e.attempt, e.reason) for e in retries] == [
        (2, "no-answer"),
        (3, "no-answer"),
        (4, "no-answer"),
    ]
