"""Remote changes: how the remote objects moved since the state last saw them.

Normal progress (an active job finishing) is told apart from drift (a job changed outside rmapply).
"""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rmapply.model import Address, FieldClass, classify_job_field
from rmapply.plan.actions import FieldDiff
from rmapply.plan.diff import classify_workspace_field, spec_diff
from rmapply.plan.remote import Observation, Sighting
from rmapply.state.document import ResourceRecord
from rmapply.wire import JobState

if TYPE_CHECKING:
    from rmapply.plan.reported import RemoteChange


class RemoteChangeCategory(StrEnum):
    """What kind of remote change."""

    PROGRESS = "progress"  # the job moved on as jobs do: active -> success / failed / cancelled
    DRIFT = "drift"  # changed outside rmapply: settings, name, inputs, a submit nobody planned
    GONE = "gone"  # the remote object answered 404


# Normal life of a job: anything else (e.g. unsubmitted -> active) happened outside rmapply.
_PROGRESS = {
    (JobState.ACTIVE, JobState.SUCCESS),
    (JobState.ACTIVE, JobState.FAILED),
    (JobState.ACTIVE, JobState.CANCELLED),
}


def job_projection(job: dict[str, Any]) -> dict[str, Any]:
    """The fields of a Job (wire JSON) that say what it computes, shaped like a JobSpec."""
    settings = dict(job.get("jobSettings") or {})
    settings["outputs"] = [o.get("format") for o in settings.get("outputs") or []]
    projection = {
        "type": job.get("type"),
        "name": job.get("name"),
        "workspaceId": job.get("workspaceId"),
        "inputs": job.get("inputs"),
        "settings": settings,
        "costEstimationParameters": job.get("costEstimationParameters"),
    }
    return {k: v for k, v in projection.items() if v is not None}


# module constants: an enum member read from its class costs a descriptor call, per record here
_LAST_SEEN, _GONE = Sighting.LAST_SEEN, Sighting.GONE


def _drift_class(path: str) -> FieldClass:
    return classify_job_field(path)


def remote_change(
    address: Address, record: ResourceRecord, seen: Observation
) -> "RemoteChange | None":
    """The change between the record's last sighting and now, if any."""
    sighting = seen.seen
    if sighting is _LAST_SEEN:
        return None
    if sighting is _GONE:
        from rmapply.plan.reported import RemoteChange  # made on first use

        return RemoteChange(
            address=address,
            kind=record.kind,
            remote_id=record.remote_id,
            category=RemoteChangeCategory.GONE,
            message="no longer exists remotely (404)",
        )
    now = seen.current or {}
    last = record.remote
    if last == now:
        return None
    if last is None:
        from rmapply.plan.reported import RemoteChange  # made on first use

        return RemoteChange(
            address=address,
            kind=record.kind,
            remote_id=record.remote_id,
            category=RemoteChangeCategory.PROGRESS,
            remote=now,
            message="seen remotely for the first time",
        )
    if record.kind == "workspace":
        return _workspace_change(address, record, last, now)
    return _job_change(address, record, last, now)


def _workspace_change(
    address: Address, record: ResourceRecord, last: dict[str, Any], now: dict[str, Any]
) -> "RemoteChange | None":
    keys = ("name", "iTwinId", "contextCaptureVersion")
    changes = spec_diff(
        {k: last.get(k) for k in keys if last.get(k) is not None},
        {k: now.get(k) for k in keys if now.get(k) is not None},
        classify_workspace_field,
    )
    if not changes:
        return None
    from rmapply.plan.reported import RemoteChange  # made on first use

    return RemoteChange(
        address=address,
        kind="workspace",
        remote_id=record.remote_id,
        category=RemoteChangeCategory.DRIFT,
        diff=changes,
        remote=now,
        message="changed outside rmapply",
    )


def _job_change(
    address: Address, record: ResourceRecord, last: dict[str, Any], now: dict[str, Any]
) -> "RemoteChange | None":
    before, after = job_projection(last), job_projection(now)
    old_state, new_state = last.get("state"), now.get("state")
    changes = list(spec_diff(before, after, _drift_class)) if before != after else []
    state_moved = old_state != new_state
    if state_moved:
        state_diff = FieldDiff(
            path="state", before=old_state, after=new_state, field_class=FieldClass.RECONCILER
        )
    if changes or (state_moved and (old_state, new_state) not in _PROGRESS):
        if state_moved:
            changes.append(state_diff)
        from rmapply.plan.reported import RemoteChange  # made on first use

        return RemoteChange(
            address=address,
            kind="job",
            remote_id=record.remote_id,
            category=RemoteChangeCategory.DRIFT,
            diff=tuple(changes),
            remote=now,
            message="changed outside rmapply",
        )
    if state_moved:
        from rmapply.plan.reported import RemoteChange  # made on first use

        return RemoteChange(
            address=address,
            kind="job",
            remote_id=record.remote_id,
            category=RemoteChangeCategory.PROGRESS,
            diff=(state_diff,),
            remote=now,
            message=f"{old_state} -> {new_state}",
        )
    # only timestamps, progress figures or output ids moved: accepted silently
    return None
