"""rmapply plan against the emulator over real HTTP: remote changes (deleted, failed, cancelled,
drift), --refresh-only, --target globs and the cost limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.emulator import Emulator
from tests.cli.project import apply, remote_id, run, state_of, write_project


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def client(emulator: Emulator, token: str) -> RealityModelingClient:
    """A client of the emulator, to change jobs outside rmapply."""
    return RealityModelingClient(emulator.base_url, StaticToken(token))


def _plan(folder: Path, env: dict[str, str], *extra: str) -> tuple[int, str]:
    code, out, err = run("plan", "-C", str(folder), "--detailed-exitcode", *extra, env=env)
    assert code in (0, 2), err
    return code, out


def test_job_deleted_remotely_is_planned_for_creation_again(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    apply(tmp_path, env)
    job = remote_id(tmp_path, "jobs.site-a")
    client.delete_job(job)
    code, out = _plan(tmp_path, env)
    assert code == 2
    assert out.startswith(
        "Remote changes since the state last saw them:\n"
        f"  jobs.site-a (job {job}): no longer exists remotely (404)\n"
    )
    assert f"  + jobs.site-a: create\n      job: {job} (gone)\n" in out
    assert (
        f"      why: job {job} no longer exists remotely (404): a new job is created, not"
        " submitted (submit = false) [gone-remotely]\n"
    ) in out
    assert out.endswith(
        "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete; no job will run.\n"
    )


def test_failed_job_is_shown_as_failed_and_not_rerun_unless_retry_failed(
    tmp_path: Path, itwin_id: str, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.set_speed(0)  # jobs stay active until the clock is advanced
    write_project(tmp_path, itwin_id)
    apply(tmp_path, env)
    job = remote_id(tmp_path, "jobs.site-a")
    emulator.fail_job(job, "photos do not overlap enough")
    emulator.advance(24 * 3600)
    code, out = _plan(tmp_path, env)
    assert code == 0
    assert f"  jobs.site-a (job {job}): active -> failed\n" in out
    assert (
        f"  - jobs.site-a: job {job} failed (photos do not overlap enough); it is not re-run"
        " (set retryFailed = true in jobs/site-a.toml:1 to create it again, or run it once more"
        " with --replace jobs.site-a)\n"
    ) in out
    assert out.endswith("No changes: 2 resource(s) match the manifests.\n")
    # retryFailed = true in the manifest: a new job replaces the failed one
    path = tmp_path / "jobs" / "site-a.toml"
    path.write_text(
        path.read_text("utf-8").replace("submit = true", "submit = true\nretryFailed = true"),
        encoding="utf-8",
    )
    code, out = _plan(tmp_path, env)
    assert code == 2
    assert "  -/+ jobs.site-a: replace (old job kept), then submit\n" in out
    assert "retryFailed = true: a new job is created and submitted" in out


def test_cancelled_job_is_shown_as_cancelled(
    tmp_path: Path,
    itwin_id: str,
    env: dict[str, str],
    emulator: Emulator,
    client: RealityModelingClient,
) -> None:
    emulator.set_speed(0)
    write_project(tmp_path, itwin_id)
    apply(tmp_path, env)
    job = remote_id(tmp_path, "jobs.site-a")
    client.cancel_job(job)
    code, out = _plan(tmp_path, env)
    assert code == 0
    assert f"  jobs.site-a (job {job}): active -> cancelled\n" in out
    assert f"  - jobs.site-a: job {job} cancelled; it is not re-run" in out


def test_drift_is_listed_apart_from_the_planned_changes(
    tmp_path: Path, itwin_id: str, env: dict[str, str], client: RealityModelingClient
) -> None:
    write_project(
        tmp_path, itwin_id, {"site-a": {"submit": "false"}, "site-b": {"submit": "false"}}
    )
    apply(tmp_path, env)
    job = remote_id(tmp_path, "jobs.site-a")
    client.patch_job(
        job,
        wire.JobPatch.from_wire({"settings": {"quality": "Extra", "outputs": ["OBJ"]}}),
    )
    write_project(
        tmp_path,
        itwin_id,
        {"site-a": {"submit": "false"}, "site-b": {"submit": "false", "name": "Renamed"}},
    )
    code, out = _plan(tmp_path, env)
    assert code == 2
    drift, rest = out.split("\n\n", 1)
    assert drift.splitlines() == [
        "Changed outside rmapply (drift):",
        f"  jobs.site-a (job {job}): changed outside rmapply",
        '      settings.outputs: ["OBJ", "Cesium 3D Tiles"] -> ["OBJ"]',
        '      settings.quality: "Medium" -> "Extra"',
    ]
    assert "  ~ jobs.site-a: update in place\n" in rest
    assert "changed outside rmapply: restored to the manifests' values" in rest
    assert "  -/+ jobs.site-b: replace (old job deleted)\n" in rest
    assert "Changed outside rmapply" not in rest


def test_refresh_only_shows_remote_changes_alone(
    tmp_path: Path, itwin_id: str, env: dict[str, str], emulator: Emulator
) -> None:
    emulator.set_speed(0)
    write_project(tmp_path, itwin_id)
    apply(tmp_path, env)
    job = remote_id(tmp_path, "jobs.site-a")
    code, out = _plan(tmp_path, env, "--refresh-only")
    assert (code, out) == (0, "No remote changes: the state is up to date.\n")
    emulator.advance(24 * 3600)
    write_project(tmp_path, itwin_id, {"site-a": {"quality": "Extra"}, "site-b": {}})
    code, out = _plan(tmp_path, env, "--refresh-only")
    assert (code, out) == (
        0,  # a job finishing is normal progress, not drift: the drift check stays green
        "Remote changes since the state last saw them:\n"
        f"  jobs.site-a (job {job}): active -> success\n"
        "\n"
        "Refresh only: 1 remote change(s) to accept into the state; nothing else.\n",
    )
    # the same project without --refresh-only plans the manifest changes too
    code, out = _plan(tmp_path, env)
    assert "Plan: 1 to create, 0 to update, 1 to replace, 0 to delete" in out


def test_refresh_only_detailed_exitcode_is_2_for_drift_and_for_a_gone_job_not_for_progress(
    tmp_path: Path,
    itwin_id: str,
    env: dict[str, str],
    emulator: Emulator,
    client: RealityModelingClient,
) -> None:
    emulator.set_speed(0)
    write_project(tmp_path, itwin_id, {"site-a": {}, "site-b": {"submit": "false"}})
    apply(tmp_path, env)
    emulator.advance(24 * 3600)  # site-a: active -> success
    assert _plan(tmp_path, env, "--refresh-only")[0] == 0
    site_b = remote_id(tmp_path, "jobs.site-b")
    client.patch_job(
        site_b, wire.JobPatch.from_wire({"settings": {"quality": "Extra", "outputs": ["OBJ"]}})
    )
    code, out = _plan(tmp_path, env, "--refresh-only")
    assert code == 2
    assert f"jobs.site-b (job {site_b}): changed outside rmapply" in out
    client.delete_job(site_b)
    code, out = _plan(tmp_path, env, "--refresh-only")
    assert code == 2
    assert "jobs.site-b" in out


def test_target_globs_plan_the_matching_jobs_and_what_they_need(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {}, "site-b": {}, "depot": {}})
    code, out = _plan(tmp_path, env, "--target", "jobs.site-*")
    assert code == 2
    planned = [line for line in out.splitlines() if line.startswith("  + ")]
    assert planned == [
        "  + workspaces.main: create",
        "  + jobs.site-a: create, then submit",
        "  + jobs.site-b: create, then submit",
    ]
    assert (
        "  - targeting is in effect: 3 of 4 resources are planned; a plan without --target may"
        " show more changes\n"
    ) in out
    code, out = _plan(tmp_path, env, "--target", "jobs.depot", "--target", "jobs.site-b")
    assert [line for line in out.splitlines() if line.startswith("  + ")] == [
        "  + workspaces.main: create",
        "  + jobs.depot: create, then submit",
        "  + jobs.site-b: create, then submit",
    ]


def test_budget_of_rmapply_toml_fails_the_plan_and_max_cost_overrides_it(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(
        tmp_path, itwin_id, {"site-a": {}, "site-b": {}}, extra_config="[budget]\nmaxCost = 5\n"
    )
    code, out, err = run("plan", "-C", str(tmp_path), env=env)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "Error: the plan's estimated cost 6 (includes local estimates) is above the budget of 5"
        " ([budget] maxCost); biggest jobs: jobs.site-a 3 (local estimate), jobs.site-b 3 (local"
        " estimate)",
        "Hint: lower the jobs' cost (settings.quality, costEstimationParameters), plan fewer jobs"
        " with --target, or raise [budget] maxCost in rmapply.toml",
    ]
    code, out, err = run("plan", "-C", str(tmp_path), "--max-cost", "5.5", env=env)
    assert code == 1
    assert err.splitlines()[0].endswith(
        "above the budget of 5.5 (--max-cost); biggest jobs: jobs.site-a 3 (local estimate),"
        " jobs.site-b 3 (local estimate)"
    )
    assert err.splitlines()[1].endswith("or raise --max-cost")
    code, out, err = run("plan", "-C", str(tmp_path), "--max-cost", "6", env=env)
    assert code == 0, err
    assert out.endswith("estimated cost 6 (includes local estimates).\n")
    code, out, err = run("plan", "-C", str(tmp_path), "--target", "jobs.site-a", env=env)
    assert code == 0, err


def test_plan_refuses_a_state_bound_to_another_itwin(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    apply(tmp_path, env)
    other = "0e4e3c3a-6f0a-4a54-9d1c-5a8b9f0c2d11"
    write_project(tmp_path, other, {"site-a": {"submit": "false"}})
    state = tmp_path / "rmapply.state.json"
    before = state.read_bytes()
    code, out, err = run("plan", "-C", str(tmp_path), "--no-refresh", env=env)
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        f"Error: state file {state} belongs to iTwin {itwin_id}, but [project] iTwinId is "
        f"{other}; nothing was read or changed"
    )
    assert f"'rmapply state rebind --itwin {other}'" in err
    assert state.read_bytes() == before


def test_plan_warns_when_an_unbound_state_belongs_to_another_itwin(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    apply(tmp_path, env)
    state = state_of(tmp_path)
    state.update(version=1)
    del state["endpoint"], state["itwin_id"]  # as a state written before binding
    (tmp_path / "rmapply.state.json").write_text(json.dumps(state), encoding="utf-8")
    other = "0e4e3c3a-6f0a-4a54-9d1c-5a8b9f0c2d11"
    write_project(tmp_path, other, {"site-a": {"submit": "false"}})
    code, out = _plan(tmp_path, env, "--no-refresh")
    assert code == 2
    assert (
        f"  - the state holds workspaces of iTwin {itwin_id}, but the manifests are for iTwin"
        f" {other}: is this the state file of another project? (check [state] path in"
        " rmapply.toml)\n"
    ) in out
    assert state_of(tmp_path)["serial"] == 1
