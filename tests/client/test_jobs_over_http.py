"""The client speaks every v1 operation against the emulator and returns the wire models."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.client.responses import page_items
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import InvalidChangeError
from tests.client.conftest import MakeClient, page_examples

EmulatorFactory = Callable[..., Emulator]


def test_create_job_page_example_round_trips_through_the_client(
    client: RealityModelingClient, job_body: wire.JobCreation, workspace: wire.Workspace
) -> None:
    _, page_answer = page_examples()
    job = client.create_job(job_body)
    expected = page_answer["job"]
    assert job.state is wire.JobState.UNSUBMITTED
    assert job.name == expected["name"]
    assert job.type.value == expected["type"]
    assert job.workspace_id == workspace.id
    assert job.i_twin_id == workspace.i_twin_id
    assert [i.to_wire() for i in job.inputs] == expected["inputs"]
    assert [o.format.value for o in job.job_settings.outputs or []] == ["OBJ", "3MX"]
    assert set(job.output_ids()) == {"OBJ", "3MX"}
    assert job.job_settings.quality is wire.Quality.EXTRA
    assert job.job_settings.processing_engines == 5
    assert job.cost_estimation_parameters == job_body.cost_estimation_parameters
    assert client.get_job(job.id) == job


def test_workspace_is_created_read_and_deleted(
    client: RealityModelingClient, emulator: Emulator, itwin_id: str
) -> None:
    created = client.create_workspace(
        wire.WorkspaceCreation(name="Bridge", i_twin_id=itwin_id, context_capture_version="20.1")
    )
    assert created.name == "Bridge"
    assert created.context_capture_version == "20.1"
    assert client.get_workspace(created.id) == created
    assert [w.id for w in emulator.workspaces()] == [created.id]
    client.delete_workspace(created.id)
    assert emulator.workspaces() == []


def test_lifecycle_submit_progress_and_success_on_the_simulated_clock(
    emulator_factory: EmulatorFactory, make_client: MakeClient, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(speed=1.0))
    client = make_client(emu)
    space = client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=itwin_id))
    request, _ = page_examples()
    job = client.create_job(wire.JobCreation.from_wire({**request, "workspaceId": space.id}))
    assert client.get_progress(job.id).state is wire.ProgressState.UNSUBMITTED

    submitted = client.submit_job(job.id)
    assert submitted.state is wire.JobState.ACTIVE
    assert submitted.execution_information is not None
    assert client.get_progress(job.id).state is wire.ProgressState.ACTIVE

    emu.advance(24 * 3600)
    done = client.get_job(job.id)
    assert done.state is wire.JobState.SUCCESS
    assert done.execution_information is not None
    assert done.execution_information.ended_date_time is not None
    progress = client.get_progress(job.id)
    assert (progress.state, progress.percentage) == (wire.ProgressState.OVER, 100.0)


def test_cancel_ends_an_active_job_and_submitted_jobs_cannot_be_deleted(
    emulator_factory: EmulatorFactory, make_client: MakeClient, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(speed=1.0))
    client = make_client(emu)
    space = client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=itwin_id))
    request, _ = page_examples()
    job = client.create_job(wire.JobCreation.from_wire({**request, "workspaceId": space.id}))
    client.submit_job(job.id)
    assert client.cancel_job(job.id).state is wire.JobState.CANCELLED
    with pytest.raises(InvalidChangeError):
        client.delete_job(job.id)
    assert emu.job(job.id) is not None


def test_unsubmitted_job_is_patched_then_deleted(
    client: RealityModelingClient, emulator: Emulator, job_body: wire.JobCreation
) -> None:
    job = client.create_job(job_body)
    patch = wire.JobPatch(settings=wire.JobPatchSettings(quality=wire.Quality.DRAFT))
    patched = client.patch_job(job.id, patch)
    assert patched.job_settings.quality is wire.Quality.DRAFT
    client.delete_job(job.id)
    assert emulator.jobs() == []


def test_list_jobs_follows_continuation_tokens(
    client: RealityModelingClient,
    emulator: Emulator,
    job_body: wire.JobCreation,
    itwin_id: str,
) -> None:
    created = [
        client.create_job(job_body.model_copy(update={"name": f"job {i}"})) for i in range(5)
    ]
    where = f"iTwinId eq {itwin_id}"

    first, token = client.list_jobs_page(where, top=2)
    assert len(first) == 2
    assert token is not None
    before = emulator.request_count("GET", "/contextcapture/jobs")
    listed = list(client.list_jobs(where, top=2))
    assert emulator.request_count("GET", "/contextcapture/jobs") - before == 3
    assert sorted(j.id for j in listed) == sorted(j.id for j in created)


def test_list_job_items_pairs_each_job_with_the_object_its_page_held(
    client: RealityModelingClient, job_body: wire.JobCreation, itwin_id: str
) -> None:
    for i in range(3):
        client.create_job(job_body.model_copy(update={"name": f"job {i}"}))
    where = f"iTwinId eq {itwin_id}"
    pairs = list(client.list_job_items(where, top=2))
    assert [job for job, _ in pairs] == list(client.list_jobs(where, top=2))
    for job, item in pairs:
        assert isinstance(item, dict)
        assert wire.Job.from_answer(item) == job
        assert item["id"] == job.id


def test_list_jobs_of_an_empty_itwin_yields_nothing(
    client: RealityModelingClient, itwin_id: str
) -> None:
    assert client.list_jobs_page(f"iTwinId eq {itwin_id}") == ([], None)


def test_engines_limit_reads_the_limit(
    emulator_factory: EmulatorFactory, make_client: MakeClient, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(max_engines=7))
    client = make_client(emu)
    assert client.engines_limit(itwin_id) == wire.EnginesLimit(max_engines=7)
    assert client.engines_limit() == wire.EnginesLimit(max_engines=7)


def test_client_is_a_context_manager_that_closes_its_connections(
    emulator: Emulator, token: str, itwin_id: str
) -> None:
    with RealityModelingClient(emulator.base_url, StaticToken(token)) as client:
        assert client.engines_limit(itwin_id).max_engines == 25
    with pytest.raises(RuntimeError, match="the client is closed"):
        client.engines_limit(itwin_id)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"jobs": null}', b'{"jobs": {}}', b'{"jobs": [{}, {}]}', b"{}"],
)
def test_page_items_are_none_unless_the_page_holds_exactly_its_jobs(body: bytes) -> None:
    assert page_items(body, 1) is None


def test_page_items_are_the_page_objects_in_order() -> None:
    assert page_items(b'{"jobs": [{"id": "a"}, {"id": "b"}], "_links": {}}', 2) == [
        {"id": "a"},
        {"id": "b"},
    ]
