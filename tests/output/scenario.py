"""Plans that exercise every part of the renderers, built from plain values."""

from __future__ import annotations

from rmapply import wire
from rmapply.plan import Plan, RemoteView
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job,
    make_job_spec,
    make_pending,
    make_record,
    make_state,
    make_workspace,
    make_workspace_spec,
)
from tests.plan.planning import plan_for

EXTRA = {"quality": "Extra", "outputs": ["OBJ", "3MX"]}


def full_plan() -> Plan:
    """Every action kind, drift, progress, a 404, a failure, an unresolved create, warnings."""
    spec = make_job_spec
    desired = make_desired(
        {
            "fresh": spec(name="Fresh", workspace="new"),
            "draft": spec(name="Draft", submit=False),
            "tuned": spec(name="Tuned", settings=EXTRA),
            "rerun": spec(name="Rerun", inputs=[{"id": "photos-b", "description": "drone photos"}]),
            "running": spec(name="Running", settings=EXTRA),
            "renamed": spec(name="Renamed (north)"),
            "waiting": spec(name="Waiting"),
            "unpriced": spec(name="Unpriced", costEstimationParameters=None),
            "broken": spec(name="Broken"),
            "lost": spec(name="Lost"),
            "drifted": spec(name="Drifted"),
            "pending": spec(name="Pending"),
        },
        {"main": make_workspace_spec(), "new": make_workspace_spec(name="New")},
    )
    records = [
        main_workspace_record(),
        make_record("workspaces.retired", "ws-9", make_workspace_spec(name="Retired")),
        make_record("jobs.tuned", "job-tuned", spec(name="Tuned")),
        make_record("jobs.rerun", "job-rerun", spec(name="Rerun"), state="success"),
        make_record("jobs.running", "job-running", spec(name="Running"), state="active"),
        make_record("jobs.renamed", "job-renamed", spec(name="Renamed"), state="success"),
        make_record("jobs.waiting", "job-waiting", spec(name="Waiting", submit=False)),
        make_record("jobs.broken", "job-broken", spec(name="Broken"), state="active"),
        make_record("jobs.lost", "job-lost", spec(name="Lost"), state="success"),
        make_record("jobs.drifted", "job-drifted", spec(name="Drifted"), state="success"),
        make_record("jobs.old-draft", "job-old-draft", spec(name="Old draft"), workspace_id="ws-9"),
        make_record("jobs.old-done", "job-old-done", spec(), state="success", workspace_id="ws-9"),
    ]
    state = make_state(*records, pending=[make_pending("jobs.pending", name="Pending")])
    # the refresh sees every job as the state last saw it, except three
    jobs = {
        r.remote_id: wire.Job.from_wire(r.remote)
        for r in records
        if r.kind == "job" and r.remote is not None and r.remote_id != "job-lost"
    }
    overlap = [{"code": "NotEnoughOverlap", "message": "photos do not overlap enough"}]
    jobs["job-broken"] = make_job("job-broken", spec(name="Broken"), state="failed", errors=overlap)
    jobs["job-drifted"] = make_job(
        "job-drifted", spec(name="Drifted", settings=EXTRA), state="success"
    )
    remote = RemoteView(
        jobs=jobs,
        workspaces={
            "ws-1": make_workspace("ws-1", make_workspace_spec()),
            "ws-9": make_workspace("ws-9", make_workspace_spec(name="Retired")),
        },
        gone=frozenset({"job-lost"}),
    )
    return plan_for(desired, state, remote, cancel_replaced=True)


def unchanged_plan() -> Plan:
    """Nothing to do: one workspace and one finished job that match the manifests."""
    job = make_job_spec()
    state = make_state(
        main_workspace_record(), make_record("jobs.site-a", "job-a", job, state="success")
    )
    return plan_for(make_desired({"site-a": job}), state)


def refresh_only_plan() -> Plan:
    """--refresh-only with one job that finished and one that vanished."""
    job = make_job_spec()
    state = make_state(
        main_workspace_record(),
        make_record("jobs.site-a", "job-a", job, state="active"),
        make_record("jobs.site-b", "job-b", job, state="success"),
    )
    remote = RemoteView(
        jobs={"job-a": make_job("job-a", job, state="success")},
        workspaces={"ws-1": make_workspace("ws-1", make_workspace_spec())},
        gone=frozenset({"job-b"}),
    )
    desired = make_desired({"site-a": job, "site-b": job})
    return plan_for(desired, state, remote, refresh_only=True)
