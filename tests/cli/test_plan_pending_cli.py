"""Requests of unknown outcome left by an earlier apply: plan shows the verdict a refresh reaches
(adopted, not created, unresolved with the exact commands) and writes nothing; plan --out and
refresh record it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.emulator import Emulator
from rmapply.model import digest
from rmapply.state import LocalStateStore
from tests.cli.project import apply, photos_id, remote_id, run, state_of, write_project


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def client(emulator: Emulator, token: str) -> RealityModelingClient:
    """A client of the emulator, to make jobs outside rmapply."""
    return RealityModelingClient(emulator.base_url, StaticToken(token))


@pytest.fixture
def project(tmp_path: Path, itwin_id: str, env: dict[str, str]) -> Path:
    """Workspace main applied; jobs site-a (in state) and site-b (its create lost) unsubmitted."""
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    apply(tmp_path, env)
    write_project(
        tmp_path, itwin_id, {"site-a": {"submit": "false"}, "site-b": {"submit": "false"}}
    )
    return tmp_path


SPEC_B = {
    "costEstimationParameters": {"gigaPixels": 2.0, "megaPoints": 10.0},
    "dependsOn": [],
    "inputs": [{"description": "drone photos", "id": photos_id("site-b")}],
    "name": "Site site-b",
    "retryFailed": False,
    "settings": {"outputs": ["OBJ", "Cesium 3D Tiles"], "quality": "Medium"},
    "submit": False,
    "type": "Full",
    "workspace": "main",
}


def _lose_create(project: Path, itwin_id: str, *, sent_at: datetime) -> None:
    """Journal a create of jobs.site-b whose answer never came, as a crashed apply leaves it."""
    workspace = remote_id(project, "workspaces.main")
    with LocalStateStore(project / "rmapply.state.json").lock("apply") as session:
        seq = session.journal.intent(
            "jobs.site-b",
            "create",
            request_digest="sha256:lost",
            details={
                "kind": "job",
                "name": "Site site-b",
                "iTwinId": itwin_id,
                "workspaceId": workspace,
                "type": "Full",
                "inputIds": [photos_id("site-b")],
                "spec": SPEC_B,
                "specDigest": digest(SPEC_B),
            },
            now=sent_at,
        )
        session.journal.result(seq, outcome="unknown", error="no answer", now=sent_at)


def _job_b(client: RealityModelingClient, project: Path) -> wire.Job:
    return client.create_job(
        wire.JobCreation.from_wire(
            {
                "type": "Full",
                "name": "Site site-b",
                "workspaceId": remote_id(project, "workspaces.main"),
                "inputs": [{"id": photos_id("site-b"), "description": "drone photos"}],
                "settings": {"quality": "Medium", "outputs": ["OBJ", "Cesium 3D Tiles"]},
                "costEstimationParameters": {"gigaPixels": 2.0, "megaPoints": 10.0},
            }
        )
    )


def test_plan_shows_a_lost_create_that_happened_as_adopted_and_writes_nothing(
    project: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    _lose_create(project, itwin_id, sent_at=datetime.now(UTC) - timedelta(seconds=5))
    job = _job_b(client, project)
    state = project / "rmapply.state.json"
    before = state.read_bytes()
    code, out, err = run("plan", "-C", str(project), "--detailed-exitcode", env=env)
    assert (code, err) == (0, ""), out
    lines = out.splitlines()
    assert lines[0] == (
        "Unknown outcomes settled from what the service shows (apply records them; this plan"
        " assumes them):"
    )
    assert lines[1].startswith(
        f"  jobs.site-b: unknown outcome of create: adopted (job {job.id} (created "
    )
    assert lines[1].endswith(") matches the lost create)")
    assert "+ jobs.site-b" not in out
    assert out.endswith("No changes: 3 resource(s) match the manifests.\n")
    assert state.read_bytes() == before
    assert "jobs.site-b" in state_of(project)["pending"]


def test_plan_out_records_the_adopted_job_and_the_saved_plan_applies(
    project: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    _lose_create(project, itwin_id, sent_at=datetime.now(UTC) - timedelta(seconds=5))
    job = _job_b(client, project)
    planfile = project / "plan.json"
    code, out, err = run("plan", "-C", str(project), "--out", str(planfile), env=env)
    assert code == 0, err
    assert "(recorded in the state):" in out.splitlines()[0]
    state = state_of(project)
    assert state["pending"] == {}
    assert state["resources"]["jobs.site-b"]["remote_id"] == job.id
    code, out, err = run("apply", "-C", str(project), str(planfile), env=env)
    assert code == 0, (out, err)
    assert len(client_jobs(client, itwin_id)) == 2  # nothing was created twice


def client_jobs(client: RealityModelingClient, itwin_id: str) -> list[wire.Job]:
    """Every job of the iTwin."""
    return list(client.list_jobs(f"iTwinId eq {itwin_id}"))


def test_plan_shows_a_young_lost_create_not_found_as_in_flight_and_plans_no_create(
    project: Path, itwin_id: str, env: dict[str, str]
) -> None:
    _lose_create(project, itwin_id, sent_at=datetime.now(UTC) - timedelta(seconds=5))
    code, out, err = run("plan", "-C", str(project), "--detailed-exitcode", env=env)
    # nothing can be said of jobs.site-b yet: neither "no changes" (0) nor "changes" (2)
    assert code == 1, out
    assert "  jobs.site-b: blocked behind the unresolved create sent at" in err
    assert "may still be in flight until" in out
    assert "+ jobs.site-b" not in out
    assert "jobs.site-b" in state_of(project)["pending"]


def test_plan_shows_a_lost_create_that_did_not_happen_as_planned_again(
    project: Path, itwin_id: str, env: dict[str, str]
) -> None:
    # sent longer ago than the read timeout (60 s) plus the in-flight margin (60 s)
    _lose_create(project, itwin_id, sent_at=datetime.now(UTC) - timedelta(minutes=3))
    code, out, err = run("plan", "-C", str(project), "--detailed-exitcode", env=env)
    assert (code, err) == (2, ""), out
    lines = out.splitlines()
    assert lines[1].startswith(
        "  jobs.site-b: unknown outcome of create: not done (no job matching"
    )
    assert lines[1].endswith(": it was not created and is planned again)")
    assert "  + jobs.site-b: create\n" in out
    assert "Unresolved operations" not in out


def test_plan_shows_an_ambiguous_lost_create_as_unresolved_with_the_commands(
    project: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    _lose_create(project, itwin_id, sent_at=datetime.now(UTC) - timedelta(seconds=5))
    ids = sorted(_job_b(client, project).id for _ in range(2))
    code, out, err = run("plan", "-C", str(project), "--detailed-exitcode", env=env)
    # blocked behind an unresolved request: neither "no changes" nor "changes" is true
    assert code == 1, err
    assert "  jobs.site-b: blocked behind the unresolved create sent at " in err
    head = out.split("\n\n")[0].splitlines()
    assert head[0] == "Unresolved operations (settle them first; nothing is planned for them):"
    assert head[1].startswith("  ! jobs.site-b: 2 jobs match the lost create (")
    assert head[1].endswith(f"): {ids[0]}, {ids[1]}; import the one that belongs to this address")
    assert head[2:] == [
        f"      rmapply import jobs.site-b {ids[0]}",
        f"      rmapply import jobs.site-b {ids[1]}",
        "      rmapply state forget-intent jobs.site-b",
    ]
    # settled by hand with one of the commands shown: the next plan has nothing left
    assert run("import", "-C", str(project), "jobs.site-b", ids[0], env=env)[0] == 0
    code, out, _ = run("plan", "-C", str(project), "--detailed-exitcode", env=env)
    assert code == 0
    assert out == "No changes: 3 resource(s) match the manifests.\n"


def test_plan_without_refresh_shows_the_lost_create_unresolved(
    project: Path, itwin_id: str, env: dict[str, str]
) -> None:
    _lose_create(project, itwin_id, sent_at=datetime(2024, 5, 1, 12, tzinfo=UTC))
    offline = {"NO_COLOR": "1", "RMAPPLY_ENDPOINT": env["RMAPPLY_ENDPOINT"]}
    code, out, _ = run("plan", "-C", str(project), "--no-refresh", env=offline)
    assert code == 0
    assert out.splitlines()[:4] == [
        "Unresolved operations (settle them first; nothing is planned for them):",
        "  ! jobs.site-b: the create of jobs.site-b was sent at 2024-05-01T12:00:00+00:00 but no"
        " answer came: a job named 'Site site-b' may exist remotely; rmapply will not create it"
        " again until this is settled",
        "      rmapply import jobs.site-b JOB_ID",
        "      rmapply state forget-intent jobs.site-b",
    ]


def test_refresh_records_the_verdict(
    project: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    _lose_create(project, itwin_id, sent_at=datetime.now(UTC) - timedelta(seconds=5))
    job = _job_b(client, project)
    code, out, err = run("refresh", "-C", str(project), env=env)
    assert code == 0, err
    # the verdict as apply prints it
    assert out.splitlines()[0].startswith("jobs.site-b: unknown outcome of create: adopted")
    assert job.id in out.splitlines()[0]
    state = state_of(project)
    assert state["pending"] == {}
    assert state["resources"]["jobs.site-b"]["remote_id"] == job.id
