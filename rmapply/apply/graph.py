"""The task graph of a plan: which step carries out each action, and what must succeed first."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rmapply.apply import steps, workspace_steps
from rmapply.apply.recording import Recorder
from rmapply.apply.step_context import StepContext, StepResult
from rmapply.plan.actions import (
    Action,
    CreateJob,
    CreateWorkspace,
    DeleteJob,
    DeleteWorkspace,
    Forget,
    Record,
    ReplaceJob,
    ReplaceWorkspace,
    SubmitJob,
    UpdateJob,
)


def submits(action: Action) -> bool:
    if isinstance(action, SubmitJob):
        return True
    if isinstance(action, CreateJob | ReplaceJob | UpdateJob):
        return action.submit
    return False


def bind(
    fn: Callable[[StepContext, Any], StepResult], ctx: StepContext, action: Action
) -> Callable[[], StepResult]:
    return lambda: fn(ctx, action)


def step_for(ctx: StepContext, action: Action) -> Callable[[], StepResult]:
    """The phase-1 step of ``action``."""
    if isinstance(action, CreateWorkspace | ReplaceWorkspace):
        return bind(workspace_steps.create_workspace, ctx, action)
    if isinstance(action, DeleteWorkspace):
        return bind(steps.delete_workspace, ctx, action)
    if isinstance(action, CreateJob | ReplaceJob):
        return bind(steps.create_job, ctx, action)
    if isinstance(action, UpdateJob):
        return bind(steps.update_job, ctx, action)
    if isinstance(action, DeleteJob):
        return bind(steps.delete_job, ctx, action)
    if isinstance(action, Forget):
        return bind(steps.forget, ctx, action)
    if isinstance(action, Record):
        return bind(steps.record_only, ctx, action)
    raise TypeError(f"no step for {type(action).__name__}")  # pragma: no cover


def dependencies(actions: Iterable[Action], recorder: Recorder) -> dict[str, set[str]]:
    """For each planned address, the addresses whose actions must succeed first.

    Creations and changes follow the manifests (a job's workspace and ``dependsOn``); removals
    follow the state in reverse (a workspace is deleted after the jobs that used it are gone).
    """
    actions = list(actions)
    deps: dict[str, set[str]] = {str(a.address): set() for a in actions}
    removals = [a for a in actions if isinstance(a, DeleteJob | Forget | DeleteWorkspace)]
    for action in actions:
        key = str(action.address)
        for ref_name in ("workspace_ref", "cache_ref"):
            ref = getattr(action, ref_name, None)
            if ref is not None:
                deps[key].add(str(ref))
        # an input taken from a job this plan creates: that create answers with its id
        deps[key].update(str(r.address) for r in getattr(action, "input_refs", ()))
        if action.kind == "job" and action not in removals and action.after:
            workspace = action.after.get("workspace")
            if workspace:
                deps[key].add(f"workspaces.{workspace}")
            deps[key].update(str(d) for d in action.after.get("dependsOn") or [])
    removed = {str(a.address) for a in removals}
    workspace_by_id = {}
    for action in removals:
        if isinstance(action, DeleteWorkspace):
            workspace_by_id[action.remote_id] = str(action.address)
    for action in removals:
        if action.kind != "job":
            continue
        record = recorder.record(str(action.address))
        if record is None:
            continue
        used = workspace_by_id.get(record.workspace_id or "")
        if used:
            deps[used].add(str(action.address))
        for dep in record.spec.get("dependsOn") or []:
            if dep in removed and dep != str(action.address):
                deps[dep].add(str(action.address))  # the user goes before what it used
    return deps
