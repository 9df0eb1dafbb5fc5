"""build_plan: desired state + state (+ what a refresh saw) -> an ordered Plan. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from rmapply.errors import PlanError
from rmapply.gc_pause import gc_paused
from rmapply.model import Address, DesiredState, ResourceKind
from rmapply.plan.actions import (
    Action,
    ActionType,
    _Resolvable,
    trusted,
)
from rmapply.plan.context import PlanContext, PlanOptions, RecordIndex, address_name, upstreams
from rmapply.plan.cost import check_budget, total_cost
from rmapply.plan.drift import RemoteChangeCategory, remote_change
from rmapply.plan.jobs import plan_job
from rmapply.plan.ordering import closure, matching, order_actions
from rmapply.plan.pending import (
    blocked_addresses,
    recreated_workspace,
    requested_cancel_notes,
    unresolved,
)
from rmapply.plan.remote import RemoteView, Sighting
from rmapply.plan.result import CostSummary, Plan, Summary
from rmapply.plan.workspaces import plan_workspace, plan_workspace_removal
from rmapply.state.document import ResourceRecord, StateDocument

if TYPE_CHECKING:
    from rmapply.plan.changes import AnyAction

# a job's removal: DeleteJob or Forget (told by type: those classes are created on first use)
_REMOVED = (ActionType.DELETE, ActionType.FORGET)


def build_plan(
    desired: DesiredState,
    state: StateDocument,
    remote: RemoteView | None,
    *,
    now: datetime,
    options: PlanOptions | None = None,
) -> Plan:
    """Decide, per resource and in dependency order, what apply must do (see docs/plan.md).

    Raises PlanError for references that cannot be resolved, a dependency cycle or a target
    that matches nothing, and CostLimitError when the known cost is above ``options.max_cost``.
    """
    with gc_paused():  # planning creates no garbage cycles
        return _build_plan(desired, state, remote, now, options or PlanOptions())


def _replacing(
    patterns: Sequence[str], desired: DesiredState, selected: set[Address] | None
) -> frozenset[Address]:
    """The jobs ``--replace`` names: jobs in the manifests (a workspace is never re-run)."""
    replacing = matching(patterns, desired.jobs, flag="--replace")
    outside = sorted(str(a) for a in replacing - selected) if selected is not None else []
    if outside:
        raise PlanError(
            f"--replace {', '.join(outside)}: not among the resources --target selects",
            hint="add it to --target as well, or plan without --target",
        )
    return frozenset(replacing)


def _build_plan(
    desired: DesiredState,
    state: StateDocument,
    remote: RemoteView | None,
    now: datetime,
    options: PlanOptions,
) -> Plan:
    _check_references(desired)
    ctx = PlanContext(desired, state, remote, options, now, RecordIndex(state.resources))
    ctx.pipelines = any(
        job.spec.output_refs or job.spec.cache_address for job in desired.jobs.values()
    )
    # a lost workspace create of a desired workspace is settled by creating it again (it costs
    # nothing and cannot be listed): it neither blocks nor waits for the user
    pending = {
        Address.parse(p.address): p
        for p in state.pending.values()
        if not recreated_workspace(p, desired)
    }
    selected: set[Address] | None = None  # None: everything
    if options.targets:
        universe = set(desired.workspaces) | set(desired.jobs) | set(ctx.records.items())
        universe |= set(pending)
        selected = closure(matching(options.targets, universe), desired.dependencies)
        ctx.warnings.append(
            f"targeting is in effect: {len(selected)} of {len(universe)} resources are planned;"
            " a plan without --target may show more changes"
        )
    if options.replace:
        ctx.replacing = _replacing(options.replace, desired, selected)
    blocked = blocked_addresses(desired, pending, selected, ctx.warnings)
    _check_project(desired, state, ctx.warnings)
    ctx.warnings.extend(requested_cancel_notes(state))
    _remote_changes(ctx, selected)
    actions: list[Action] = []
    if not options.refresh_only:
        actions = _decide(ctx, selected, blocked)
        ordered = order_actions(actions, _needs(desired, actions), _used(ctx, actions))
        check_budget(ordered, options.max_cost, options.max_cost_source)
        actions = list(ordered)
    cost = total_cost(actions)
    if options.max_cost is not None and cost.unknown:
        ctx.warnings.append(
            f"{cost.unknown} job(s) without costEstimationParameters have an unknown cost and"
            f" are not counted against {options.max_cost_source}"
        )
    changes = tuple(ctx.remote_changes[a] for a in sorted(ctx.remote_changes))
    counts = dict.fromkeys(ActionType, 0)
    for action in actions:
        counts[action.action] += 1
    # built from values of the right types (total as the float validation would make it): a
    # plan shown as text then never builds these models' validators
    summary = trusted(
        Summary,
        counts=counts,
        cost=trusted(
            CostSummary,
            total=float(cost.total),
            includes_estimates=cost.includes_estimates,
            unknown=cost.unknown,
            jobs=cost.jobs,
        ),
        remote_changes=len(changes),
        drift=sum(1 for c in changes if c.category is RemoteChangeCategory.DRIFT),
        unresolved=len(pending),
        waiting=sum(1 for a in actions if a.waits),
    )
    # the actions are validated already; validating the 10,000-tuple again costs for nothing
    return Plan.model_construct(
        planned_at=now,
        refresh_only=options.refresh_only,
        targets=tuple(options.targets),
        actions=cast("tuple[AnyAction, ...]", tuple(actions)),
        remote_changes=changes,
        warnings=tuple(ctx.warnings),
        unresolved=tuple(
            unresolved(pending[a], now, margin=options.in_flight_margin) for a in sorted(pending)
        ),
        summary=summary,
    )


def _check_references(desired: DesiredState) -> None:
    # strings, not Address objects: this runs over every job of every plan
    names = {f"workspaces.{a.key}" for a in desired.workspaces}
    names |= {f"jobs.{a.key}" for a in desired.jobs}
    problems: list[str] = []
    for address, job in desired.jobs.items():
        spec = job.spec
        workspace = spec.workspace
        # a list and a generator per job cost more than the checks: missing names are rare
        missing = [name for name in spec.depends_on if name not in names]
        if workspace is not None:
            if "workspaces." + workspace not in names:
                missing.append(f"workspaces.{workspace}")
        elif not spec.workspace_id:
            problems.append(f"{job.source}: {address}: names no workspace or workspaceId")
        for name in missing:
            problems.append(f"{job.source}: {address}: needs {name}, which is not in the manifests")
    if problems:
        problems.sort()
        raise PlanError(
            f"{len(problems)} unresolved reference(s):\n" + "\n".join(problems),
            hint="add the missing resources to the manifests or fix the names",
        )


def _check_project(desired: DesiredState, state: StateDocument, warnings: list[str]) -> None:
    """Warn when no workspace in state belongs to an iTwin of the manifests: a state file of
    another project would have every one of its resources planned for removal."""
    held = {
        str(r.spec.get("iTwinId"))
        for r in state.resources.values()
        if r.kind == "workspace" and r.spec.get("iTwinId")
    }
    wanted = {desired.itwin_id} | {w.spec.i_twin_id for w in desired.workspaces.values()}
    wanted.discard(None)
    if held and wanted and not held & wanted:
        warnings.append(
            f"the state holds workspaces of iTwin {', '.join(sorted(held))}, but the manifests"
            f" are for iTwin {', '.join(sorted(w for w in wanted if w))}: is this the state"
            " file of another project? (check [state] path in rmapply.toml)"
        )


def _remote_changes(ctx: PlanContext, selected: set[Address] | None) -> None:
    if ctx.remote is None:
        return
    unknown = 0
    last_seen = Sighting.LAST_SEEN  # read once: an enum member read from its class is slow
    for address, record in ctx.records.items().items():
        if selected is not None and address not in selected:
            continue
        seen = ctx.observe(address, record)
        unknown += seen.seen is last_seen
        change = remote_change(address, record, seen)
        if change is not None:
            ctx.remote_changes[address] = change
    if unknown:
        ctx.warnings.append(
            f"{unknown} resource(s) in state were not refreshed: their last known state is used"
        )


def _decide(ctx: PlanContext, selected: set[Address] | None, blocked: set[Address]) -> list[Action]:
    desired, records = ctx.desired, ctx.records

    def wanted(address: Address) -> bool:
        return (selected is None or address in selected) and address not in blocked

    actions: list[Action] = []
    for address in sorted(a for a in desired.workspaces if wanted(a)):
        action = plan_workspace(ctx, address, desired.workspaces[address], records.get(address))
        ctx.workspace_actions[address] = action
        actions.append(action)
    jobs = list(desired.jobs)
    jobs += records.not_in({address_name(a) for a in jobs}, ResourceKind.JOB)
    if selected is not None or blocked:
        jobs = [a for a in jobs if wanted(a)]
    # without pipelines, the order by key is the order of decisions (as _upstreams_first finds)
    order = _upstreams_first(desired, jobs) if ctx.pipelines else sorted(jobs, key=_by_key)
    for address in order:
        found = plan_job(ctx, address, desired.jobs.get(address), records.get(address))
        if found is not None:
            ctx.job_actions[address] = found
            actions.append(found)
    names = {address_name(a) for a in desired.workspaces}
    removed = sorted(a for a in records.not_in(names, ResourceKind.WORKSPACE) if wanted(a))
    if removed:
        users = _workspace_users(ctx, actions)
        for address in removed:
            record = records[address]
            actions.append(
                plan_workspace_removal(ctx, address, record, users.get(record.remote_id, []))
            )
    return actions


def _upstreams_first(desired: DesiredState, jobs: list[Address]) -> list[Address]:
    """Jobs by key, each after the jobs whose outputs or cache it takes: a job's inputs and
    whether its upstream is created anew must be decided before the job itself."""
    ordered = sorted(jobs, key=_by_key)
    after: dict[Address, set[Address]] = {}
    for address in ordered:
        job = desired.jobs.get(address)
        if job is not None and (job.spec.output_refs or job.spec.cache_address):
            after[address] = upstreams(job)
    if not after:  # no pipeline: the order by key is the order of decisions
        return ordered
    placed: set[Address] = set()
    out: list[Address] = []
    members = set(ordered)

    def place(address: Address, path: tuple[Address, ...]) -> None:
        if address in placed:
            return
        if address in path:
            raise PlanError(
                f"dependency cycle among {', '.join(sorted(str(a) for a in path))}",
                hint="remove one of the references that close the cycle",
            )
        for upstream in sorted(after.get(address, ()), key=_by_key):
            if upstream in members:
                place(upstream, (*path, address))
        placed.add(address)
        out.append(address)

    for address in ordered:
        place(address, ())
    return out


def _by_key(address: Address) -> tuple[str, str]:
    # same order as Address's generated ordering, much cheaper (enum .value is slow too)
    return (address.kind, address.key)


def _workspace_users(ctx: PlanContext, actions: Iterable[Action]) -> dict[str, list[Address]]:
    """Workspace id -> the jobs that will still use it once the plan is applied."""
    planned = {a.address: a for a in actions}
    users: dict[str, list[Address]] = {}
    for address in sorted(set(ctx.records.items()) | set(ctx.desired.jobs)):
        if address.kind is not ResourceKind.JOB:
            continue
        action = planned.get(address)
        record = ctx.records.get(address)
        if action is not None and action.action in _REMOVED:  # DeleteJob | Forget
            continue
        if isinstance(action, _Resolvable):  # CreateJob | ReplaceJob
            workspace_id: str | None = None if action.workspace_ref else action.request.workspace_id
        else:
            workspace_id = record.workspace_id if record else None
        if workspace_id:
            users.setdefault(workspace_id, []).append(address)
    return users


def _needs(desired: DesiredState, actions: Iterable[Action]) -> dict[Address, set[Address]]:
    return {
        a.address: desired.dependencies(a.address)
        for a in actions
        if a.action is not ActionType.NOOP
    }


def _used(ctx: PlanContext, actions: Iterable[Action]) -> dict[Address, set[Address]]:
    """For removed jobs: the workspace (by id in state) and dependsOn they used."""
    removed = [a for a in actions if a.action in (ActionType.DELETE, ActionType.FORGET)]
    if not removed:
        return {}
    by_id = {r.remote_id: a for a, r in ctx.records.items().items() if r.kind == "workspace"}
    used: dict[Address, set[Address]] = {}
    for action in removed:
        record: ResourceRecord | None = ctx.records.get(action.address)
        if record is None or record.kind != "job":
            continue
        found = {by_id[record.workspace_id]} if record.workspace_id in by_id else set()
        for dep in record.spec.get("dependsOn") or []:
            try:
                found.add(Address.parse(dep))
            except ValueError:
                continue
        used[action.address] = found
    return used
