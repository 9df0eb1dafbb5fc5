"""Refresh costs O(pages), not O(jobs): the paged list endpoint where it answers, a GET only
for what the listing did not show (a deleted job: 404), GETs per id when listing fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.emulator import Emulator
from rmapply.plan import Sighting
from rmapply.refresh import refresh
from rmapply.state import ResourceRecord, StateDocument

NOW = datetime(2024, 6, 1, tzinfo=UTC)
LIST = "/contextcapture/jobs"


@pytest.fixture
def client(emulator: Emulator, token: str) -> RealityModelingClient:
    """A client of the emulator."""
    return RealityModelingClient(emulator.base_url, StaticToken(token))


def _state(client: RealityModelingClient, itwin_id: str, jobs: int) -> StateDocument:
    """A workspace and ``jobs`` jobs made remotely, all in state."""
    workspace = client.create_workspace(wire.WorkspaceCreation(name="Main", i_twin_id=itwin_id))
    records = {
        "workspaces.main": ResourceRecord(
            address="workspaces.main",
            kind="workspace",
            remote_id=workspace.id,
            created_at=NOW,
            updated_at=NOW,
        )
    }
    for n in range(jobs):
        job = client.create_job(
            wire.JobCreation.from_wire(
                {
                    "type": "Full",
                    "name": f"Job {n}",
                    "workspaceId": workspace.id,
                    "inputs": [{"id": f"photos-{n}"}],
                    "settings": {"quality": "Draft", "outputs": ["OBJ"]},
                }
            )
        )
        records[f"jobs.j{n}"] = ResourceRecord(
            address=f"jobs.j{n}",
            kind="job",
            remote_id=job.id,
            remote=job.to_wire(),
            created_at=NOW,
            updated_at=NOW,
        )
    return StateDocument(resources=records)


def _gets(emulator: Emulator) -> tuple[int, int]:
    """(list requests, GETs of one job) served so far."""
    per_job = emulator.request_count("GET", LIST + "/")
    return emulator.request_count("GET", LIST) - per_job, per_job


def test_refresh_lists_jobs_page_by_page_instead_of_one_get_per_job(
    emulator: Emulator, client: RealityModelingClient, itwin_id: str
) -> None:
    state = _state(client, itwin_id, 5)
    before = _gets(emulator)
    seen = refresh(client, state, itwin_id=itwin_id, page_size=2)
    lists, per_job = (a - b for a, b in zip(_gets(emulator), before, strict=True))
    assert (lists, per_job) == (3, 0)  # 5 jobs, 2 per page
    assert seen.list_pages_used and seen.get_requests == 1  # the workspace
    assert all(seen.view.seen(r.remote_id) is Sighting.REFRESHED for r in state.resources.values())


def test_refresh_asks_only_for_the_jobs_the_listing_did_not_show(
    emulator: Emulator, client: RealityModelingClient, itwin_id: str
) -> None:
    state = _state(client, itwin_id, 4)
    deleted = state.resources["jobs.j2"].remote_id
    client.delete_job(deleted)
    before = _gets(emulator)
    seen = refresh(client, state, itwin_id=itwin_id, page_size=1000)
    assert tuple(a - b for a, b in zip(_gets(emulator), before, strict=True)) == (1, 1)
    assert seen.view.seen(deleted) is Sighting.GONE
    assert seen.problems == ()


def test_refresh_stops_listing_once_every_job_in_state_was_seen(
    emulator: Emulator, client: RealityModelingClient, itwin_id: str
) -> None:
    state = _state(client, itwin_id, 6)
    # the state knows only the two oldest jobs; the iTwin holds four more of someone else
    kept = {
        k: r for k, r in state.resources.items() if k in ("workspaces.main", "jobs.j0", "jobs.j1")
    }
    before = _gets(emulator)
    refresh(client, StateDocument(resources=kept), itwin_id=itwin_id, page_size=2)
    assert tuple(a - b for a, b in zip(_gets(emulator), before, strict=True)) == (1, 0)


def test_refresh_falls_back_to_gets_when_the_listing_fails(
    emulator: Emulator, client: RealityModelingClient, itwin_id: str
) -> None:
    state = _state(client, itwin_id, 3)
    emulator.fail_next(1, 404, "GET", LIST)
    before = _gets(emulator)
    seen = refresh(client, state, itwin_id=itwin_id)
    assert tuple(a - b for a, b in zip(_gets(emulator), before, strict=True)) == (1, 3)
    assert not seen.list_pages_used
    assert len(seen.problems) == 1
    assert seen.problems[0].startswith(f"listing the jobs of iTwin {itwin_id} failed (")
    assert all(seen.view.seen(r.remote_id) is Sighting.REFRESHED for r in state.resources.values())
