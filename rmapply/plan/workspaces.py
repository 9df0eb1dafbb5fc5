"""The planner's rules for workspaces (the API has no update endpoint for them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmapply.model import Address, DesiredWorkspace, FieldClass, digest
from rmapply.plan.actions import (
    Action,
    NoOp,
    Precondition,
    ReasonCode,
    Record,
    trusted,
)
from rmapply.plan.context import PlanContext
from rmapply.plan.diff import classify_workspace_field, spec_diff
from rmapply.plan.pending import lost_create_note
from rmapply.plan.remote import Sighting
from rmapply.state.document import ResourceRecord
from rmapply.wire import WorkspaceCreation

ABSENT = trusted(Precondition, in_state=False)  # no validator built at import


def desired_workspace_spec(
    workspace: DesiredWorkspace, itwin_id: str | None
) -> tuple[WorkspaceCreation, dict[str, Any]]:
    """The POST /workspaces body and the spec stored in state (iTwinId resolved: moving the
    project to another iTwin then shows as a change instead of passing unnoticed)."""
    request = workspace.spec.to_creation(itwin_id)
    return request, request.to_wire()


def _precondition(ctx: PlanContext, address: Address, record: ResourceRecord) -> Precondition:
    seen = ctx.observe(address)
    return trusted(
        Precondition,
        in_state=True,
        remote_id=record.remote_id,
        seen=seen.seen,
        digest=record.digest,
    )


def plan_workspace(
    ctx: PlanContext, address: Address, desired: DesiredWorkspace, record: ResourceRecord | None
) -> Action:
    """Create, replace, record or leave a desired workspace."""
    request, after = desired_workspace_spec(desired, ctx.desired.itwin_id)
    after_digest = digest(after)
    common: dict[str, Any] = {"address": address, "after": after, "after_digest": after_digest}
    lost = ctx.state.pending.get(str(address))
    again = (lost_create_note(lost),) if lost is not None and lost.action == "create" else ()
    if record is None:
        from rmapply.plan.changes import CreateWorkspace  # made on first use

        return CreateWorkspace(
            **common,
            reason_code=ReasonCode.NEW,
            reasons=(
                f"{address} is in the manifests but not in the state: it is created",
                *again,
            ),
            precondition=ABSENT,
            request=request,
        )
    precondition = _precondition(ctx, address, record)
    common |= {"before": record.spec, "precondition": precondition}
    if ctx.observe(address).seen is Sighting.GONE:
        from rmapply.plan.changes import CreateWorkspace  # made on first use

        return CreateWorkspace(
            **common,
            reason_code=ReasonCode.GONE_REMOTELY,
            reasons=(
                f"workspace {record.remote_id} no longer exists remotely (404): it is created"
                " again; the jobs that ran in it are not re-run",
                *again,
            ),
            request=request,
            previous_id=record.remote_id,
        )
    if (record.digest or digest(record.spec)) == after_digest:
        return trusted(
            NoOp,
            kind="workspace",
            address=address,
            reason_code=ReasonCode.UNCHANGED,
            reasons=("unchanged",),
            precondition=precondition,
            remote_id=record.remote_id,
        )
    diff = spec_diff(record.spec, after, classify_workspace_field)
    rerun = [c.path for c in diff if c.field_class is FieldClass.RERUN]
    if rerun:
        from rmapply.plan.changes import ReplaceWorkspace  # made on first use

        return ReplaceWorkspace(
            **common,
            diff=diff,
            reason_code=ReasonCode.RERUN_FIELD_CHANGED,
            reasons=(
                f"{', '.join(rerun)} cannot be changed on an existing workspace: a new workspace"
                f" is created; workspace {record.remote_id} is kept (its jobs keep their outputs)"
                " and its id moves to history; the jobs that use it are replaced",
                *again,
            ),
            request=request,
            old_remote_id=record.remote_id,
        )
    return Record(
        **common,
        kind="workspace",
        diff=diff,
        reason_code=ReasonCode.COSMETIC_CHANGE,
        reasons=(
            "only the name changed and a workspace has no update endpoint: the state records the"
            " new name, no API call",
        ),
        remote_id=record.remote_id,
    )


def plan_workspace_removal(
    ctx: PlanContext, address: Address, record: ResourceRecord, users: Sequence[Address]
) -> Action:
    """Delete a workspace that left the manifests, unless a job in state still uses it."""
    precondition = _precondition(ctx, address, record)
    if ctx.observe(address).seen is Sighting.GONE:
        from rmapply.plan.changes import Forget  # made on first use

        return Forget(
            kind="workspace",
            address=address,
            before=record.spec,
            reason_code=ReasonCode.REMOVED_FROM_MANIFESTS,
            reasons=(
                f"{address} is no longer in the manifests and workspace {record.remote_id} no"
                " longer exists remotely: it is forgotten",
            ),
            precondition=precondition,
            remote_id=record.remote_id,
        )
    if users:
        names = ", ".join(str(u) for u in users[:5]) + (" ..." if len(users) > 5 else "")
        ctx.warnings.append(
            f"{address} is no longer in the manifests but {names} still use it: it is kept"
        )
        return NoOp(
            kind="workspace",
            address=address,
            reason_code=ReasonCode.STILL_USED,
            reasons=(f"kept: no longer in the manifests but still used by {names}",),
            precondition=precondition,
            remote_id=record.remote_id,
        )
    from rmapply.plan.changes import DeleteWorkspace  # made on first use

    return DeleteWorkspace(
        address=address,
        before=record.spec,
        reason_code=ReasonCode.REMOVED_FROM_MANIFESTS,
        reasons=(
            f"{address} is no longer in the manifests and no job in the state uses it: it is"
            " deleted",
        ),
        precondition=precondition,
        remote_id=record.remote_id,
    )
