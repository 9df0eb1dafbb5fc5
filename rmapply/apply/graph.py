"""The task graph of a plan: which step carries out each action, what must succeed first, and
which ready task goes first (the critical path: upstream jobs, submits)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rmapply.apply import steps, workspace_steps
from rmapply.apply.recorded_cancels import recorded_cancel_tasks
from rmapply.apply.recording import Recorder
from rmapply.apply.schedule import Task
from rmapply.apply.step_context import StepContext, StepResult, check_precondition
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
    Retire,
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


def change_tasks(
    ctx: StepContext, planned: Mapping[str, Action], deps: Mapping[str, set[str]]
) -> list[Task]:
    """One task per action except submitting (creates, updates, replacements, removals)."""
    tasks = []
    for key, action in planned.items():
        if isinstance(action, SubmitJob):
            continue  # its only call is the submit: a task of submit_tasks
        after = frozenset(d for d in deps[key] if d in planned)
        tasks.append(Task(key, key, action.action.value, step_for(ctx, action), after))
    return tasks


def submit_tasks(
    ctx: StepContext,
    planned: Mapping[str, Action],
    deps: Mapping[str, set[str]],
    *,
    recorded_cancels: bool,
) -> list[Task]:
    """The submits (each after its own create and its dependencies' submits) and the cancels of
    replaced jobs (each after its replacement's submit)."""
    submitting = {k for k, a in planned.items() if submits(a)}
    tasks = []
    for key, action in planned.items():
        after = {f"submit:{d}" for d in deps[key] if d in submitting}
        if not isinstance(action, SubmitJob):
            after.add(key)
        if key in submitting:
            tasks.append(
                Task(f"submit:{key}", key, "submit", _submit(ctx, action), frozenset(after))
            )
        if isinstance(action, ReplaceJob) and action.retire is Retire.CANCEL:
            cancel_after = frozenset({f"submit:{key}"} if key in submitting else {key})
            cancel = bind(steps.cancel_replaced, ctx, action)
            tasks.append(Task(f"cancel:{key}", key, "cancel", cancel, cancel_after))
    if recorded_cancels:
        tasks.extend(recorded_cancel_tasks(ctx, planned, submitting))
    return tasks


def _submit(ctx: StepContext, action: Action) -> Callable[[], StepResult]:
    address = str(action.address)
    if isinstance(action, SubmitJob):

        def standalone() -> StepResult:
            check_precondition(action, ctx.recorder)
            return steps.submit_job(ctx, address, spec=action.after, planned=action.after)

        return standalone
    return lambda: steps.submit_job(ctx, address, planned=action.after)


# among tasks of the same depth, a submit first (it starts a job's clock on the service), then
# the changes, then the cancels of replaced jobs (nothing waits for them)
_STAGE_ORDER = {"submit": 0, "cancel": 2}


def critical_path_first(tasks: Sequence[Task], deps: Mapping[str, set[str]]) -> list[Task]:
    """``tasks`` in the order to start them when several are ready: the deepest first (the
    address with the longest chain of addresses after it), submits before creates, then as
    planned. The scheduler starts ready tasks in list order."""
    depth = _depths(deps)
    indexed = list(enumerate(tasks))
    indexed.sort(
        key=lambda it: (
            -depth.get(it[1].address, 0),
            _STAGE_ORDER.get(it[1].action, 1),
            it[0],
        )
    )
    return [task for _, task in indexed]


def _depths(deps: Mapping[str, set[str]]) -> dict[str, int]:
    """For each address, the length of the longest chain of addresses that depend on it."""
    dependents: dict[str, set[str]] = {k: set() for k in deps}
    for key, before in deps.items():
        for dep in before:
            dependents.setdefault(dep, set()).add(key)
    depth: dict[str, int] = {}
    for start in dependents:
        # iterative depth-first walk: a long chain must not exhaust the stack
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if node in depth:
                continue
            if expanded:
                depth[node] = max((depth[d] + 1 for d in dependents[node]), default=0)
                continue
            stack.append((node, True))
            stack.extend((d, False) for d in dependents[node] if d not in depth)
    return depth
