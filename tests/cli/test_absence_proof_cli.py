"""Absence needs proof: only a GET of a resource's own id answering 404 with the API's code
removes it from the state or plans it again; a wrong endpoint, a proxy's 404 or a listing that
does not show an id never does (issue 8, point 2). Over real HTTP, through a small proxy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmapply.client import RealityModelingClient, StaticToken
from rmapply.emulator import Emulator
from tests.cli.project import apply, remote_id, run, state_of, write_project
from tests.cli.proxy import EMPTY_LIST, HTML_404, JSON_404, Proxy

STATE = "rmapply.state.json"
JOBS = {"site-a": {"submit": "false"}, "site-b": {"submit": "false"}}


@pytest.fixture
def proxy(emulator: Emulator) -> Iterator[Proxy]:
    """The emulator behind a proxy: the project's endpoint is the proxy's URL."""
    with Proxy(emulator.root_url) as running:
        yield running


@pytest.fixture
def env(proxy: Proxy, token: str) -> dict[str, str]:
    """A user pointed at the proxy."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": proxy.url, "NO_COLOR": "1"}


@pytest.fixture
def client(emulator: Emulator, token: str) -> RealityModelingClient:
    """A client of the emulator itself, to delete jobs outside rmapply."""
    return RealityModelingClient(emulator.base_url, StaticToken(token))


@pytest.fixture
def project(tmp_path: Path, itwin_id: str, env: dict[str, str]) -> Path:
    """A workspace and two unsubmitted jobs, applied through the proxy."""
    write_project(tmp_path, itwin_id, JOBS)
    apply(tmp_path, env)
    return tmp_path


@pytest.mark.parametrize("mode", [HTML_404, JSON_404])
def test_plan_through_a_proxy_answering_404_refuses_and_plans_nothing(
    project: Path, env: dict[str, str], proxy: Proxy, mode: str
) -> None:
    proxy.mode = mode
    code, out, err = run("plan", "-C", str(project), "--detailed-exitcode", env=env)
    assert (code, out) == (1, "")
    assert "answered 404 without the API's" in err
    assert f"at {proxy.url} " in err
    assert "Hint: the endpoint is probably wrong (a typo, or a proxy answering 404)" in err
    assert "create" not in err


def test_refresh_through_a_proxy_answering_404_leaves_the_state_unchanged(
    project: Path, env: dict[str, str], proxy: Proxy
) -> None:
    before = (project / STATE).read_bytes()
    proxy.mode = HTML_404
    code, out, err = run("refresh", "-C", str(project), env=env)
    assert (code, out) == (1, "")
    assert "answered 404 without the API's" in err
    assert (project / STATE).read_bytes() == before


def test_a_lost_delete_is_not_settled_by_a_proxys_404(
    project: Path, env: dict[str, str], proxy: Proxy
) -> None:
    path = project / STATE
    state = json.loads(path.read_text("utf-8"))
    job = remote_id(project, "jobs.site-a")
    state["pending"] = {
        "jobs.site-a": {
            "address": "jobs.site-a",
            "action": "delete",
            "sent_at": datetime(2024, 5, 1, tzinfo=UTC).isoformat(),
            "request_digest": "sha256:" + "0" * 64,
            "details": {"remoteId": job},
        }
    }
    path.write_text(json.dumps(state), encoding="utf-8")
    before = path.read_bytes()
    proxy.mode = HTML_404
    code, out, err = run("refresh", "-C", str(project), env=env)
    assert (code, out) == (1, "")
    assert f"GET /jobs/{job} at {proxy.url} answered 404 without the API's JobNotFound" in err
    assert path.read_bytes() == before  # the job and its pending delete are both still there


def test_apply_through_a_proxy_answering_404_creates_nothing(
    project: Path, env: dict[str, str], proxy: Proxy, emulator: Emulator
) -> None:
    proxy.mode = HTML_404
    code, _, err = run("apply", "-C", str(project), "--auto-approve", env=env)
    assert code == 1
    assert "answered 404 without the API's" in err
    proxy.mode = "forward"
    assert len(emulator.jobs()) == 2


def test_a_listing_that_does_not_show_a_job_leads_to_a_get_of_that_job(
    project: Path, env: dict[str, str], proxy: Proxy, emulator: Emulator
) -> None:
    proxy.mode = EMPTY_LIST
    jobs = [remote_id(project, f"jobs.{key}") for key in JOBS]
    before = [emulator.request_count("GET", f"/contextcapture/jobs/{job}") for job in jobs]
    code, out, err = run("plan", "-C", str(project), "--detailed-exitcode", env=env)
    assert (code, err) == (0, ""), out
    assert out == "No changes: 3 resource(s) match the manifests.\n"
    after = [emulator.request_count("GET", f"/contextcapture/jobs/{job}") for job in jobs]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1]


def test_a_job_deleted_remotely_leaves_the_state_with_its_proof_printed(
    project: Path, env: dict[str, str], client: RealityModelingClient
) -> None:
    job = remote_id(project, "jobs.site-a")
    client.delete_job(job)
    code, out, err = run("refresh", "-C", str(project), env=env)
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        f"- jobs.site-a ({job}): no longer exists remotely (404); proof: GET /jobs/{job}"
        " answered 404 JobNotFound",
        "Refresh: 1 remote change accepted into state.",
    ]
    assert out.splitlines()[2].startswith("The state before this refresh is kept as ")
    assert sorted(state_of(project)["resources"]) == ["jobs.site-b", "workspaces.main"]


def test_a_refresh_that_removes_a_job_keeps_the_state_before_as_a_dated_version(
    project: Path, env: dict[str, str], client: RealityModelingClient
) -> None:
    job = remote_id(project, "jobs.site-a")
    # a state written after its last kept version (the state rm keeps the one before it)
    assert run("state", "rm", "-C", str(project), "jobs.site-b")[0] == 0
    before = state_of(project)
    client.delete_job(job)
    code, said, err = run("refresh", "-C", str(project), env=env)
    assert (code, err) == (0, ""), said
    assert "jobs.site-a" not in state_of(project)["resources"]
    # the newest kept version is the state as it was, with the removed job's id in it
    code, out, err = run("state", "versions", "-C", str(project), "--format", "json")
    assert code == 0, err
    kept = [v for v in json.loads(out)["versions"] if v["version"] != "backup"]
    assert kept[-1]["serial"] == before["serial"]
    assert said.splitlines()[-1] == (
        f"The state before this refresh is kept as {kept[-1]['path']}; to undo: 'rmapply state "
        f"restore -C {project} {kept[-1]['version']}'."
    )
    assert json.loads(Path(kept[-1]["path"]).read_text("utf-8")) == before
    # and state restore brings it back
    code, out, err = run("state", "restore", "-C", str(project), kept[-1]["version"])
    assert (code, err) == (0, ""), out
    assert state_of(project)["resources"]["jobs.site-a"]["remote_id"] == job


def test_refresh_refuses_to_remove_more_than_half_of_the_state_without_consent(
    project: Path, env: dict[str, str], client: RealityModelingClient
) -> None:
    jobs = {key: remote_id(project, f"jobs.{key}") for key in JOBS}
    for job in jobs.values():
        client.delete_job(job)
    before = (project / STATE).read_bytes()
    code, out, err = run("refresh", "-C", str(project), env=env)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[:3] == [
        "Error: refresh: 2 of the 3 resources in state answered 404 (not found), more than half;"
        " refusing to remove them from the state or create them again:",
        f"  jobs.site-a: GET /jobs/{jobs['site-a']} answered 404 JobNotFound",
        f"  jobs.site-b: GET /jobs/{jobs['site-b']} answered 404 JobNotFound",
    ]
    assert lines[3].endswith("if they really were deleted, run again with --allow-mass-removal")
    assert "RMAPPLY_TOKEN" in lines[3]
    assert (project / STATE).read_bytes() == before
    code, out, err = run("refresh", "-C", str(project), "--allow-mass-removal", env=env)
    assert (code, err) == (0, "")
    assert "\nRefresh: 2 remote changes accepted into state.\n" in out
    assert sorted(state_of(project)["resources"]) == ["workspaces.main"]


def test_plan_and_apply_refuse_to_recreate_most_of_the_state_without_consent(
    project: Path, env: dict[str, str], client: RealityModelingClient, emulator: Emulator
) -> None:
    for key in JOBS:
        client.delete_job(remote_id(project, f"jobs.{key}"))
    code, out, err = run("plan", "-C", str(project), env=env)
    assert (code, out) == (1, "")
    assert "2 of the 3 resources in state answered 404" in err
    code, _, err = run("apply", "-C", str(project), "--auto-approve", env=env)
    assert code == 1
    assert "2 of the 3 resources in state answered 404" in err
    assert emulator.jobs() == []
    code, out, _ = run("plan", "-C", str(project), "--allow-mass-removal", env=env)
    assert code == 0
    assert "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete" in out
    apply(project, env, "--allow-mass-removal")
    assert len(emulator.jobs()) == 2
