"""Adoption (``rmapply import``): check an existing remote object against its manifest. Pure.

A difference in what a job computes (type, input ids, settings, workspace) or where a workspace
lives (iTwin, ContextCapture version) means the object is not the one the manifest describes:
it is refused. Other differences (name, input descriptions, cost parameters) are kept: the spec
recorded in state holds the remote values there, so the next plan shows exactly what it would
change, instead of the state pretending the object was made from the manifest.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rmapply.errors import PlanError
from rmapply.model import (
    Address,
    DesiredJob,
    DesiredWorkspace,
    FieldClass,
    classify_job_field,
    digest,
)
from rmapply.plan.actions import FieldDiff
from rmapply.plan.diff import classify_workspace_field, describe_value, parse_path, spec_diff
from rmapply.plan.drift import job_projection
from rmapply.plan.workspaces import desired_workspace_spec
from rmapply.state.document import ResourceRecord

_WORKSPACE_KEYS = ("name", "iTwinId", "contextCaptureVersion")


@dataclass(frozen=True)
class Adoption:
    """What to record for an adopted object, and the differences the next plan will show."""

    spec: dict[str, Any]
    digest: str
    notes: tuple[str, ...]


def _describe(change: FieldDiff, noun: str) -> str:
    manifest = "(absent)" if change.change == "added" else describe_value(change.before)
    remote = "(absent)" if change.change == "removed" else describe_value(change.after)
    return f"{change.path}: manifest {manifest}, {noun} {remote}"


def _set_at(data: dict[str, Any], path: str, change: FieldDiff) -> None:
    """Put the remote side of ``change`` into ``data`` at ``path`` (remove it when absent)."""
    parts = parse_path(path)
    parent: Any = data
    for part in parts[:-1]:
        if isinstance(parent, list) and isinstance(part, int):
            parent = parent[part]
            continue
        parent = parent.setdefault(part, {})
    last = parts[-1]
    if change.change == "removed":
        if isinstance(parent, dict):
            parent.pop(last, None)
        return
    parent[last] = copy.deepcopy(change.after)


def _adopt(
    noun: str,
    refusal: str,
    stored: dict[str, Any],
    changes: tuple[FieldDiff, ...],
    hint: str,
) -> Adoption:
    # a field the remote object sets and the manifest leaves out is the service's default
    refused = [c for c in changes if c.field_class is FieldClass.RERUN and c.change != "added"]
    if refused:
        lines = "\n".join(f"  {_describe(c, noun)}" for c in refused)
        raise PlanError(f"{refusal}:\n{lines}", hint=hint)
    spec = copy.deepcopy(stored)
    notes = []
    for change in changes:
        if change.field_class is FieldClass.RERUN:
            continue  # set by the service where the manifest says nothing: not a difference
        _set_at(spec, change.path, change)
        notes.append(f"{_describe(change, noun)}; the next plan shows the change")
    return Adoption(spec=spec, digest=digest(spec), notes=tuple(notes))


def adopt_workspace(
    desired: DesiredWorkspace, remote: Mapping[str, Any], itwin_id: str | None
) -> Adoption:
    """The record of remote workspace ``remote`` (wire JSON) as ``desired``; PlanError when it
    lives in another iTwin or on another ContextCapture version."""
    _, wanted = desired_workspace_spec(desired, itwin_id)
    seen = {k: remote[k] for k in _WORKSPACE_KEYS if remote.get(k) is not None}
    changes = spec_diff(wanted, seen, classify_workspace_field)
    return _adopt(
        "workspace",
        f"workspace {remote.get('id')} is not the one {desired.address} describes"
        f" ({desired.source})",
        wanted,
        changes,
        "import the workspace of this project's iTwin, or fix the manifest",
    )


def _cache_id(
    job: DesiredJob, remote: Mapping[str, Any], records: Mapping[str, ResourceRecord]
) -> str | None:
    """The cache id ``useCache = "jobs.KEY"`` stands for: that job's id in state, else (not
    imported yet, so it cannot be checked) the one the remote job used."""
    reference = job.spec.cache_address
    if reference is None:
        return None
    record = records.get(reference)
    if record is not None:
        return record.remote_id
    settings = remote.get("jobSettings") or {}
    cache = settings.get("cacheSettings") or {}
    return str(cache.get("useCache") or "")


def job_workspace_id(
    job: DesiredJob, remote: Mapping[str, Any], records: Mapping[str, ResourceRecord]
) -> str:
    """The workspace id ``job`` must be in: its literal workspaceId or its workspace's record.

    PlanError when the manifest names a workspace that is not in state yet (import it first:
    otherwise the next plan would create that workspace and replace the job).
    """
    if job.spec.workspace_id or not job.spec.workspace:
        return job.spec.workspace_id or ""
    address = str(Address.workspace(job.spec.workspace))
    record = records.get(address)
    if record is None:
        remote_ws = remote.get("workspaceId") or "WORKSPACE_ID"
        raise PlanError(
            f"{job.address} runs in {address}, which is not in state yet",
            hint=f"import the workspace first: rmapply import {address} {remote_ws}",
        )
    return record.remote_id


def adopt_job(
    desired: DesiredJob, remote: Mapping[str, Any], records: Mapping[str, ResourceRecord]
) -> Adoption:
    """The record of remote job ``remote`` (wire JSON) as ``desired``; PlanError when it
    computes something else (type, inputs, settings, workspace)."""
    workspace_id = job_workspace_id(desired, remote, records)
    wanted = desired.spec.to_creation(workspace_id, _cache_id(desired, remote, records))
    changes = spec_diff(wanted.to_wire(), job_projection(dict(remote)), classify_job_field)
    return _adopt(
        "job",
        f"job {remote.get('id')} does not compute what {desired.address} describes"
        f" ({desired.source})",
        desired.spec.to_wire(),
        changes,
        "make the manifest describe the job, or import the job it describes",
    )
