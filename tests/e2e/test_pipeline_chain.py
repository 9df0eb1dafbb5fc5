"""A three-stage pipeline over real HTTP, rmapply and ``rmapply serve`` each in its own process:
Calibration -> Reconstruction (the photos plus the calibration's orientations) -> a second
Reconstruction reusing the first one's cache. Checked on the service: every downstream job reads
its upstream's ids, and none was submitted before its inputs were ready."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.apply_runs import environment, run, serving, write_project
from tests.e2e.chain_runs import (
    add_chain,
    chain_on_service,
    check_inputs_carry_upstream_ids,
    check_never_submitted_early,
    names,
    outputs_of,
    service_jobs,
    stage_name,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], str, str]]:
    """A project (no jobs yet), its environment, the service's URL and the project's iTwin."""
    itwin_id = str(uuid.uuid4())
    with serving(tmp_path / "emulator.sqlite3") as base_url:
        yield write_project(tmp_path / "p", itwin_id), environment(base_url), base_url, itwin_id


def _states(base_url: str, itwin_id: str) -> dict[str, str]:
    return {j["name"]: j["state"] for j in service_jobs(base_url, itwin_id)}


def test_a_chain_waits_without_wait_then_runs_to_its_end_in_waves_with_wait(
    served: tuple[Path, dict[str, str], str, str],
) -> None:
    project, env, base_url, itwin_id = served
    add_chain(project, 1, calib_pixels=150)  # calib runs 4,560 simulated s: 4.6 s here

    first = run(project, env, "apply", "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "jobs.recon1: waiting for jobs.calib1 (active" in first.stdout
    assert "jobs.mesh1: waiting for jobs.recon1" in first.stdout
    assert "2 waiting" in first.stdout
    assert _states(base_url, itwin_id) == {
        stage_name("calib", 1): "active",
        stage_name("recon", 1): "unsubmitted",  # created: its input ids were known
        stage_name("mesh", 1): "unsubmitted",
    }
    plan = run(project, env, "plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr  # nothing to do while calib runs
    status = run(project, env, "status")
    assert "jobs.recon1: unsubmitted, waiting for jobs.calib1 (active, " in status.stdout
    assert "jobs.mesh1: unsubmitted, waiting for jobs.recon1 (unsubmitted)" in status.stdout

    done = run(project, env, "apply", "--auto-approve", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = service_jobs(base_url, itwin_id)
    assert {j["name"]: j["state"] for j in jobs} == {
        stage_name(s, 1): "success" for s in ("calib", "recon", "mesh")
    }
    check_inputs_carry_upstream_ids(chain_on_service(jobs, 1))
    check_never_submitted_early(jobs)
    again = run(project, env, "plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    shown = json.loads(run(project, env, "output", "--format", "json").stdout)["resources"]
    by_name = {j["name"]: j for j in jobs}
    for stage in ("calib", "recon", "mesh"):
        job = by_name[stage_name(stage, 1)]
        assert shown[f"jobs.{stage}1"]["outputs"] == outputs_of(job)
        assert shown[f"jobs.{stage}1"]["state"] == "success"


def test_a_failure_in_the_middle_blocks_the_rest_and_a_replace_runs_it_again(
    served: tuple[Path, dict[str, str], str, str],
) -> None:
    project, env, base_url, itwin_id = served
    add_chain(project, 1, fail="recon")

    failed = run(project, env, "apply", "--auto-approve", "--wait")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"jobs\.mesh1: .*blocked, jobs\.recon1 failed", failed.stdout), failed.stdout
    states = _states(base_url, itwin_id)
    assert states[stage_name("calib", 1)] == "success"
    assert states[stage_name("recon", 1) + " [fail]"] == "failed"
    assert states[stage_name("mesh", 1)] == "unsubmitted"  # never submitted
    plan = run(project, env, "plan", "--format", "json")
    reasons = {a["address"]: a["reasonCode"] for a in json.loads(plan.stdout)["actions"]}
    assert reasons["jobs.mesh1"] == "upstream-failed"
    assert (
        "jobs.mesh1: unsubmitted, blocked: jobs.recon1 failed" in run(project, env, "status").stdout
    )

    add_chain(project, 1)  # the cause fixed (a cosmetic change: it re-runs nothing by itself)
    fixed = run(project, env, "apply", "--auto-approve", "--wait", "--replace", "jobs.recon1")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    jobs = service_jobs(base_url, itwin_id)
    chain = chain_on_service(jobs, 1)
    assert [chain.calib["state"], chain.recon["state"], chain.mesh["state"]] == ["success"] * 3
    check_inputs_carry_upstream_ids(chain)
    check_never_submitted_early(jobs)
    assert names(jobs)[stage_name("calib", 1)] == 1  # upstream of the failure: kept


def test_replacing_the_head_of_the_chain_cascades_and_runs_the_chain_again(
    served: tuple[Path, dict[str, str], str, str],
) -> None:
    project, env, base_url, itwin_id = served
    add_chain(project, 1)
    assert run(project, env, "apply", "--auto-approve", "--wait").returncode == 0
    before = chain_on_service(service_jobs(base_url, itwin_id), 1)

    plan = run(project, env, "plan", "--replace", "jobs.calib1", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    planned = {
        a["address"]: (a["action"], a["reasonCode"]) for a in json.loads(plan.stdout)["actions"]
    }
    assert planned["jobs.calib1"] == ("replace", "replace-requested")
    assert planned["jobs.recon1"] == ("replace", "upstream-replaced")
    assert planned["jobs.mesh1"] == ("replace", "upstream-replaced")
    text = run(project, env, "plan", "--replace", "jobs.calib1").stdout
    assert "3 to replace" in text

    done = run(project, env, "apply", "--auto-approve", "--wait", "--replace", "jobs.calib1")
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = service_jobs(base_url, itwin_id)
    after = chain_on_service(jobs, 1)
    assert {after.calib["id"], after.recon["id"], after.mesh["id"]}.isdisjoint(
        {before.calib["id"], before.recon["id"], before.mesh["id"]}
    )
    assert [after.calib["state"], after.recon["state"], after.mesh["state"]] == ["success"] * 3
    check_inputs_carry_upstream_ids(after)
    check_never_submitted_early(jobs)
    assert set(names(jobs).values()) == {2}  # each stage once before, once after
