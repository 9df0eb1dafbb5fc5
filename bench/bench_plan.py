"""Benchmark of the planner and its renderers (run by hand): ``python bench/bench_plan.py``.

Prints, for 10,000 jobs in desired and state (``--jobs`` to change): build_plan for a no-op plan
(no refresh, and with a refresh that saw every job unchanged), for a plan where 1% of the jobs
changed, and the time of each renderer on those plans; plus the import time of the planner.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rmapply.model import (
    Address,
    DesiredJob,
    DesiredState,
    DesiredWorkspace,
    JobSpec,
    Source,
    WorkspaceSpec,
    digest,
)
from rmapply.output.plan_json import render_plan_json
from rmapply.output.plan_markdown import render_plan_markdown
from rmapply.output.plan_text import render_plan_text
from rmapply.plan import Plan, RemoteView, build_plan
from rmapply.state import ResourceRecord, StateDocument
from rmapply.wire import Job, Workspace

NOW = datetime(2024, 6, 1, tzinfo=UTC)
WORKSPACES = 10


def job_spec(n: int, quality: str = "Medium") -> JobSpec:
    """A realistic job: two inputs, two outputs, cost parameters."""
    rng = uuid.UUID(int=n)  # stable ids, so two runs plan the same thing
    return JobSpec.model_validate(
        {
            "type": "Full",
            "name": f"Site {n}",
            "workspace": f"w{n % WORKSPACES}",
            "inputs": [{"id": str(rng), "description": "photos"}, {"id": f"{rng}-o"}],
            "settings": {"quality": quality, "outputs": ["OBJ", "Cesium 3D Tiles"]},
            "costEstimationParameters": {"gigaPixels": 1.5, "megaPoints": 4.0},
        }
    )


def remote_job(n: int, spec: JobSpec, workspace_id: str) -> dict[str, Any]:
    """The Job a refresh would read back for ``spec``, finished."""
    stamp = NOW.isoformat()
    return {
        "id": f"job-{n}",
        "name": spec.name,
        "type": "Full",
        "state": "success",
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "location": "East US",
        "workspaceId": workspace_id,
        "email": "ci@example.com",
        "inputs": [i.to_wire() for i in spec.inputs],
        "jobSettings": {
            "quality": "Medium",
            "outputs": [{"format": "OBJ", "id": f"out-{n}"}],
        },
        "executionInformation": {"submittedDateTime": stamp, "endedDateTime": stamp},
        "costEstimationParameters": {"gigaPixels": 1.5, "megaPoints": 4.0},
        "estimatedCost": 1.9,
    }


def inputs(jobs: int, changed_every: int | None) -> tuple[DesiredState, StateDocument]:
    """Desired state and state for ``jobs`` jobs; every ``changed_every``-th job now Extra."""
    workspaces = {}
    records: dict[str, ResourceRecord] = {}
    for w in range(WORKSPACES):
        address = Address.workspace(f"w{w}")
        spec = WorkspaceSpec(name=f"W{w}")
        workspaces[address] = DesiredWorkspace(address, spec, Source(f"workspaces/w{w}.toml"))
        stored = spec.to_creation("itwin").to_wire()
        records[str(address)] = _record(str(address), "workspace", f"ws-{w}", stored, None, None)
    desired_jobs = {}
    for n in range(jobs):
        address = Address.job(f"site-{n}")
        applied = job_spec(n)
        wanted = applied
        if changed_every and n % changed_every == 0:
            wanted = job_spec(n, "Extra")
        desired_jobs[address] = DesiredJob(address, wanted, Source(f"jobs/site-{n}.toml", 1))
        workspace_id = f"ws-{n % WORKSPACES}"
        records[str(address)] = _record(
            str(address),
            "job",
            f"job-{n}",
            applied.to_wire(),
            workspace_id,
            remote_job(n, applied, workspace_id),
        )
    desired = DesiredState(itwin_id="itwin", workspaces=workspaces, jobs=desired_jobs)
    return desired, StateDocument(lineage="bench", serial=7, resources=records)


def _record(
    address: str,
    kind: str,
    remote_id: str,
    spec: dict[str, Any],
    workspace_id: str | None,
    remote: dict[str, Any] | None,
) -> ResourceRecord:
    return ResourceRecord.model_validate(
        {
            "address": address,
            "kind": kind,
            "remote_id": remote_id,
            "spec": spec,
            "digest": digest(spec),
            "workspace_id": workspace_id,
            "remote": remote,
            "created_at": NOW,
            "updated_at": NOW,
        }
    )


def refresh_of(state: StateDocument) -> RemoteView:
    """A refresh that saw every resource exactly as the state last saw it."""
    jobs, spaces = {}, {}
    for record in state.resources.values():
        if record.kind == "job" and record.remote:
            jobs[record.remote_id] = Job.from_wire(record.remote)
        else:
            spaces[record.remote_id] = Workspace.from_wire(
                {"id": record.remote_id, "createdDateTime": NOW.isoformat(), **record.spec}
            )
    return RemoteView(jobs=jobs, workspaces=spaces)


def timed(label: str, work: Callable[[], Any], runs: int) -> Any:
    """Run ``work`` ``runs`` times; print the median and best wall time."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    print(
        f"  {label:<44} median {statistics.median(times) * 1000:7.1f} ms"
        f"   best {min(times) * 1000:7.1f} ms"
    )
    return result


def scenario(
    title: str, desired: DesiredState, state: StateDocument, remote: RemoteView | None, runs: int
) -> None:
    """Time build_plan and the three renderers for one input."""
    print(title)
    plan: Plan = timed("build_plan", lambda: build_plan(desired, state, remote, now=NOW), runs)
    print(f"    -> {len(plan.to_apply)} change(s), {len(plan.actions)} action(s)")
    timed("render text", lambda: render_plan_text(plan), runs)
    timed("render JSON (all actions, no-ops included)", lambda: render_plan_json(plan), runs)
    timed("render markdown", lambda: render_plan_markdown(plan), runs)


def main() -> None:
    """Parse arguments and run every scenario."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    code = "import rmapply.plan, rmapply.output.plan_text, rmapply.output.plan_json"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    print(
        f"import of the planner and renderers in a fresh process: "
        f"{(time.perf_counter() - start) * 1000:.0f} ms (interpreter start included)"
    )
    desired, state = inputs(args.jobs, None)
    scenario(f"{args.jobs} jobs, no change, no refresh:", desired, state, None, args.runs)
    scenario(
        f"{args.jobs} jobs, no change, refreshed:", desired, state, refresh_of(state), args.runs
    )
    desired, state = inputs(args.jobs, 100)
    scenario(
        f"{args.jobs} jobs, 1% changed (replaced), no refresh:", desired, state, None, args.runs
    )


if __name__ == "__main__":
    main()
