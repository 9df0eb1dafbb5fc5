"""Invariants over generated manifests, states and refreshes: idempotence and dependency order."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.model import Address, JobSpec
from rmapply.plan import ActionType, Plan, RemoteView
from rmapply.plan.context import PlanContext
from rmapply.state import ResourceRecord, StateDocument
from tests.factories import (
    NOW,
    make_desired,
    make_job,
    make_job_spec,
    make_record,
    make_state,
    make_workspace,
    make_workspace_spec,
)
from tests.plan.planning import plan_for
from tests.plan.simulated_apply import simulate_apply

JOB_KEYS = ["a", "b", "c", "d", "e"]
WORKSPACE_KEYS = ["main", "other"]
STATES = ["unsubmitted", "active", "success", "failed", "cancelled"]
MUTATIONS: list[dict[str, Any]] = [
    {},
    {},
    {"name": "Z"},
    {"settings": {"quality": "Extra", "outputs": ["OBJ"]}},
    {"inputs": [{"id": "p9", "description": "x"}]},
    {"inputs": [{"id": "p1", "description": "other"}]},
    {"costEstimationParameters": {"gigaPixels": 9.0}},
    {"type": "Calibration"},
    {"submit": True},
    {"submit": False},
    {"retryFailed": True},
]


def _mutated(spec: Any, change: dict[str, Any]) -> Any:
    """``spec`` with one field changed, as a state left by an earlier apply might hold it."""
    return spec.model_validate({**spec.to_wire(), **change})


@st.composite
def job_specs(draw: st.DrawFn, workspaces: list[str], earlier: list[str]) -> Any:
    """A job spec drawn from a few values per field, so that desired and state often agree."""
    return make_job_spec(
        name=draw(st.sampled_from(["A", "B"])),
        type=draw(st.sampled_from(["Full", "Reconstruction"])),
        workspace=draw(st.sampled_from(workspaces)),
        inputs=[
            {
                "id": draw(st.sampled_from(["p1", "p2"])),
                "description": draw(st.sampled_from(["x", "y"])),
            }
        ],
        settings={
            "quality": draw(st.sampled_from(["Draft", "Medium"])),
            "outputs": draw(st.sampled_from([["OBJ"], ["OBJ", "3MX"]])),
        },
        costEstimationParameters=draw(
            st.sampled_from([None, {"gigaPixels": 1.0}, {"gigaPixels": 2.0, "megaPoints": 5.0}])
        ),
        submit=draw(st.booleans()),
        retryFailed=draw(st.booleans()),
        dependsOn=[f"jobs.{k}" for k in draw(st.lists(st.sampled_from(earlier), unique=True))]
        if earlier
        else [],
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Any, StateDocument, RemoteView | None]:
    """Desired state, a state document and (maybe) a refresh, loosely related to each other."""
    ws_keys = draw(st.lists(st.sampled_from(WORKSPACE_KEYS), min_size=1, unique=True))
    workspaces = {
        k: make_workspace_spec(
            name=draw(st.sampled_from(["W1", "W2"])),
            contextCaptureVersion=draw(st.sampled_from([None, "24.1"])),
        )
        for k in ws_keys
    }
    records: list[ResourceRecord] = []
    ws_ids = []
    for n, key in enumerate([*WORKSPACE_KEYS, "gone"]):
        if draw(st.integers(0, 3)) > 0:
            spec = workspaces.get(key) or make_workspace_spec(name="W1")
            if draw(st.integers(0, 3)) == 0:
                spec = make_workspace_spec(name="W3")
            records.append(make_record(f"workspaces.{key}", f"ws-{n}", spec))
            ws_ids.append(f"ws-{n}")
    jobs: dict[str, Any] = {}
    for n, key in enumerate(JOB_KEYS):
        if draw(st.booleans()):
            jobs[key] = draw(job_specs(ws_keys, [k for k in jobs]))
        if draw(st.booleans()):
            if key in jobs:
                spec = _mutated(jobs[key], draw(st.sampled_from(MUTATIONS)))
            else:
                spec = draw(job_specs(ws_keys, []))
            current = next(
                (r.remote_id for r in records if r.address == f"workspaces.{spec.workspace}"),
                "ws-stale",
            )
            records.append(
                make_record(
                    f"jobs.{key}",
                    f"job-{n}",
                    spec,
                    state=draw(st.sampled_from(STATES)),
                    workspace_id=draw(st.sampled_from([current, current, *ws_ids, "ws-stale"])),
                    remote=draw(st.sampled_from(["auto", "auto", "auto", None])),
                )
            )
    state = make_state(*records)
    remote_view = draw(st.one_of(st.none(), refreshes(records)))
    return make_desired(jobs, workspaces), state, remote_view


@st.composite
def refreshes(draw: st.DrawFn, records: list[ResourceRecord]) -> RemoteView:
    """What a refresh might see: each record found (maybe moved on or changed), gone, unknown."""
    jobs, spaces, gone = {}, {}, set()
    for record in records:
        fate = draw(st.sampled_from(["found", "found", "gone", "unknown"]))
        if fate == "gone":
            gone.add(record.remote_id)
        elif fate == "found" and record.kind == "workspace":
            spaces[record.remote_id] = make_workspace(
                record.remote_id, make_workspace_spec(name=record.spec["name"])
            )
        elif fate == "found":
            spec = JobSpec.model_validate(record.spec)
            if draw(st.integers(0, 3)) == 0:
                spec = make_job_spec(settings={"quality": "Extra", "outputs": ["OBJ"]})
            last = record.job_state or "active"
            jobs[record.remote_id] = make_job(
                record.remote_id,
                spec,
                state=draw(st.sampled_from([last, last, *STATES])),
                workspace_id=record.workspace_id or "ws-0",
            )
    return RemoteView(jobs=jobs, workspaces=spaces, gone=frozenset(gone))


def _assert_dependencies_first(plan: Plan, desired: Any, state: StateDocument) -> None:
    position = {a.address: n for n, a in enumerate(plan.actions)}
    changing = {a.address for a in plan.actions if a.action is not ActionType.NOOP}
    removals = {
        a.address for a in plan.actions if a.action in (ActionType.DELETE, ActionType.FORGET)
    }
    for item in plan.actions:
        if item.action is ActionType.NOOP:
            continue
        if item.address in removals:
            record = state.resources[str(item.address)]
            for other in removals:
                used = state.resources[str(other)]
                if used.kind == "workspace" and record.workspace_id == used.remote_id:
                    assert position[item.address] < position[other]
            continue
        for dep in desired.dependencies(item.address):
            if dep in changing and dep not in removals:
                assert position[dep] < position[item.address], (dep, item.address)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_planning_again_after_applying_a_plan_finds_nothing_to_do(
    scenario: tuple[Any, StateDocument, RemoteView | None],
) -> None:
    desired, state, remote = scenario
    first = plan_for(desired, state, remote)
    _assert_dependencies_first(first, desired, state)
    applied = simulate_apply(desired, state, first, now=NOW)
    second = plan_for(desired, applied)
    assert not second.anything_to_apply, [
        (str(a.address), a.action.value, a.reasons) for a in second.to_apply
    ]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ordering_always_puts_dependencies_first(data: st.DataObject) -> None:
    keys = [f"j{n}" for n in range(data.draw(st.integers(1, 8)))]
    jobs = {}
    for n, key in enumerate(keys):
        deps = data.draw(st.lists(st.sampled_from(keys[:n]), unique=True)) if n else []
        jobs[key] = make_job_spec(dependsOn=[f"jobs.{d}" for d in deps])
    desired = make_desired(dict(reversed(jobs.items())))
    plan = plan_for(desired)
    position = {a.address: n for n, a in enumerate(plan.actions)}
    assert position[Address.workspace("main")] == 0
    for key, spec in jobs.items():
        for dep in spec.depends_on:
            assert position[Address.parse(dep)] < position[Address.job(key)]


class _PipelinesAssumed(PlanContext):
    """A context that never takes the no-pipelines shortcut (every job's upstreams looked at)."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, True if name == "pipelines" else value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_no_pipelines_shortcut_plans_as_the_full_path(
    scenario: tuple[Any, StateDocument, RemoteView | None],
) -> None:
    desired, state, remote = scenario
    fast = plan_for(desired, state, remote)
    with patch("rmapply.plan.planner.PlanContext", _PipelinesAssumed):
        full = plan_for(desired, state, remote)
    assert fast.model_dump(mode="json") == full.model_dump(mode="json")
