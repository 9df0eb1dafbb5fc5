"""The state (and remote objects) a correct apply of a plan would leave: pure, for planner tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rmapply.model import Address, DesiredState
from rmapply.plan import (
    GONE,
    CreateJob,
    CreateWorkspace,
    DeleteJob,
    DeleteWorkspace,
    Forget,
    NoOp,
    Plan,
    Record,
    ReplaceJob,
    ReplaceWorkspace,
    SubmitJob,
    UpdateJob,
)
from rmapply.state import ReplacedId, ResourceRecord, StateDocument
from tests.factories import make_job, make_workspace


def simulate_apply(
    desired: DesiredState, state: StateDocument, plan: Plan, *, now: datetime
) -> StateDocument:
    """Apply ``plan`` to ``state`` the way the apply engine is meant to, without any API."""
    resources = dict(state.resources)
    # apply accepts what the refresh saw into state before it acts
    for change in plan.remote_changes:
        if change.remote is not None:
            key = str(change.address)
            resources[key] = resources[key].model_copy(update={"remote": change.remote})
    workspace_ids: dict[Address, str] = {}
    serial = state.serial + 1
    for n, action in enumerate(plan.actions):
        key = str(action.address)
        old = resources.get(key)
        history = list(old.history) if old else []
        if isinstance(action, CreateWorkspace | ReplaceWorkspace):
            new_id = f"ws-{serial}-{n}"
            workspace_ids[action.address] = new_id
            if isinstance(action, CreateWorkspace) and action.previous_id:
                history.append(ReplacedId(id=action.previous_id, replaced_at=now, last_state=GONE))
            if isinstance(action, ReplaceWorkspace):
                history.append(ReplacedId(id=action.old_remote_id, replaced_at=now))
            spec = desired.workspaces[action.address].spec
            remote = make_workspace(new_id, spec, itwin_id=action.request.i_twin_id or "")
            resources[key] = _record(action, new_id, now, remote.to_wire(), None, history)
        elif isinstance(action, CreateJob | ReplaceJob):
            body = action.request_body(workspace_ids)
            new_id = f"job-{serial}-{n}"
            if isinstance(action, CreateJob) and action.previous_id:
                history.append(ReplacedId(id=action.previous_id, replaced_at=now, last_state=GONE))
            if isinstance(action, ReplaceJob):
                history.append(
                    ReplacedId(
                        id=action.old_remote_id, replaced_at=now, last_state=action.old_state
                    )
                )
            spec = desired.jobs[action.address].spec
            job_state = "active" if action.submit else "unsubmitted"
            remote = make_job(new_id, spec, state=job_state, workspace_id=body.workspace_id)
            resources[key] = _record(
                action, new_id, now, remote.to_wire(), body.workspace_id, history
            )
        elif isinstance(action, UpdateJob | SubmitJob):
            assert old is not None
            spec = desired.jobs[action.address].spec
            submitted = isinstance(action, SubmitJob) or action.submit
            job_state = "active" if submitted else "unsubmitted"
            remote = make_job(
                old.remote_id, spec, state=job_state, workspace_id=old.workspace_id or ""
            )
            resources[key] = _record(
                action, old.remote_id, now, remote.to_wire(), old.workspace_id, history
            )
        elif isinstance(action, DeleteJob | DeleteWorkspace | Forget):
            resources.pop(key, None)
        elif isinstance(action, Record):
            assert old is not None
            resources[key] = old.model_copy(
                update={"spec": action.after, "digest": action.after_digest, "updated_at": now}
            )
        else:
            assert isinstance(action, NoOp)
    return state.model_copy(update={"resources": resources, "serial": serial})


def _record(
    action: Any,
    remote_id: str,
    now: datetime,
    remote: dict[str, Any],
    workspace_id: str | None,
    history: list[ReplacedId],
) -> ResourceRecord:
    return ResourceRecord.model_validate(
        {
            "address": str(action.address),
            "kind": action.kind,
            "remote_id": remote_id,
            "spec": action.after,
            "digest": action.after_digest,
            "workspace_id": workspace_id,
            "remote": remote,
            "created_at": now,
            "updated_at": now,
            "history": history,
        }
    )
