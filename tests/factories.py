"""Plain builders for desired state, state documents and wire objects (no I/O, fixed values)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rmapply import wire
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
from rmapply.state import PendingOperation, ResourceRecord, StateDocument

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EARLIER = datetime(2024, 4, 30, 9, 30, tzinfo=UTC)
ITWIN = "itwin-0001"
LINEAGE = "3f0c7a52-0000-4000-8000-000000000001"


def make_job_spec(**overrides: Any) -> JobSpec:
    """A Full job in workspace ``main``: Medium, OBJ, 2 gigapixels + 10 megapoints (cost 3)."""
    fields: dict[str, Any] = {
        "type": "Full",
        "name": "Site A",
        "workspace": "main",
        "inputs": [{"id": "photos-a", "description": "drone photos"}],
        "settings": {"quality": "Medium", "outputs": ["OBJ"]},
        "costEstimationParameters": {"gigaPixels": 2.0, "megaPoints": 10.0},
    }
    fields.update(overrides)
    return JobSpec.model_validate({k: v for k, v in fields.items() if v is not None})


def make_workspace_spec(**overrides: Any) -> WorkspaceSpec:
    """A workspace named ``Main``."""
    fields: dict[str, Any] = {"name": "Main"}
    fields.update(overrides)
    return WorkspaceSpec.model_validate({k: v for k, v in fields.items() if v is not None})


def make_desired(
    jobs: Mapping[str, JobSpec] | None = None,
    workspaces: Mapping[str, WorkspaceSpec] | None = None,
    *,
    itwin_id: str | None = ITWIN,
) -> DesiredState:
    """A DesiredState keyed by the given keys; workspace ``main`` unless workspaces are given."""
    if workspaces is None:
        workspaces = {"main": make_workspace_spec()}
    return DesiredState(
        itwin_id=itwin_id,
        workspaces={
            Address.workspace(k): DesiredWorkspace(
                Address.workspace(k), spec, Source(f"manifests/workspaces/{k}.toml", 1)
            )
            for k, spec in workspaces.items()
        },
        jobs={
            Address.job(k): DesiredJob(Address.job(k), spec, Source(f"manifests/jobs/{k}.toml", 1))
            for k, spec in (jobs or {}).items()
        },
    )


def make_job(
    remote_id: str,
    spec: JobSpec,
    *,
    state: str = "unsubmitted",
    workspace_id: str = "ws-1",
    estimated_cost: float | str | None = "auto",
    errors: list[dict[str, Any]] | None = None,
) -> wire.Job:
    """The wire Job the service would report for ``spec`` (emulator cost formula for "auto")."""
    params = spec.cost_estimation_parameters
    if estimated_cost == "auto":
        estimated_cost = None
        if params is not None:
            factor = {"Draft": 0.5, "Medium": 1.0, "Extra": 1.5}[
                (params.mesh_quality or spec.settings.quality).value
            ]
            estimated_cost = round(
                ((params.giga_pixels or 0) + (params.mega_points or 0) / 10) * factor, 2
            )
    body: dict[str, Any] = {
        "id": remote_id,
        "name": spec.name,
        "type": spec.type.value,
        "state": state,
        "createdDateTime": "2024-04-30T09:30:00Z",
        "lastModifiedDateTime": "2024-04-30T09:30:00Z",
        "location": "East US",
        "iTwinId": ITWIN,
        "workspaceId": workspace_id,
        "email": "ci@example.com",
        "inputs": [i.to_wire() for i in spec.inputs],
        "jobSettings": {
            "quality": spec.settings.quality.value,
            "outputs": [
                {"format": f.value, "id": f"{remote_id}-out-{n}"}
                for n, f in enumerate(spec.settings.outputs)
            ],
        },
    }
    if spec.settings.processing_engines is not None:
        body["jobSettings"]["processingEngines"] = spec.settings.processing_engines
    if params is not None:
        body["costEstimationParameters"] = params.to_wire()
    if estimated_cost is not None:
        body["estimatedCost"] = estimated_cost
    if state != "unsubmitted":
        info: dict[str, Any] = {"submittedDateTime": "2024-04-30T09:31:00Z"}
        if state in ("success", "failed", "cancelled"):
            info["endedDateTime"] = "2024-04-30T10:00:00Z"
        if errors:
            info["errors"] = errors
        body["executionInformation"] = info
    return wire.Job.from_wire(body)


def make_workspace(remote_id: str, spec: WorkspaceSpec, *, itwin_id: str = ITWIN) -> wire.Workspace:
    """The wire Workspace the service would report for ``spec``."""
    return wire.Workspace.from_wire(
        {
            "id": remote_id,
            "createdDateTime": "2024-04-30T09:00:00Z",
            "name": spec.name,
            "iTwinId": spec.i_twin_id or itwin_id,
            **(
                {"contextCaptureVersion": spec.context_capture_version}
                if spec.context_capture_version
                else {}
            ),
        }
    )


def workspace_state_spec(spec: WorkspaceSpec, itwin_id: str | None = ITWIN) -> dict[str, Any]:
    """The spec a workspace record stores: the creation body with iTwinId resolved."""
    return spec.to_creation(itwin_id).to_wire()


def make_record(
    address: str,
    remote_id: str,
    spec: JobSpec | WorkspaceSpec,
    *,
    state: str = "unsubmitted",
    workspace_id: str | None = "ws-1",
    remote: wire.Job | wire.Workspace | str | None = "auto",
    history: Iterable[dict[str, Any]] = (),
) -> ResourceRecord:
    """A record as apply leaves it: spec and digest of ``spec``, the remote object last seen."""
    if isinstance(spec, WorkspaceSpec):
        stored = workspace_state_spec(spec)
        kind = "workspace"
        if remote == "auto":
            remote = make_workspace(remote_id, spec)
        workspace_id = None
    else:
        stored = spec.to_wire()
        kind = "job"
        if remote == "auto":
            remote = make_job(remote_id, spec, state=state, workspace_id=workspace_id or "ws-1")
    assert not isinstance(remote, str)
    return ResourceRecord.model_validate(
        {
            "address": address,
            "kind": kind,
            "remote_id": remote_id,
            "spec": stored,
            "digest": digest(stored),
            "workspace_id": workspace_id,
            "remote": remote.to_wire() if remote is not None else None,
            "created_at": EARLIER,
            "updated_at": EARLIER,
            "history": list(history),
        }
    )


def make_pending(address: str, action: str = "create", **details: Any) -> PendingOperation:
    """A request of unknown outcome for ``address``."""
    return PendingOperation(
        address=address,
        action=action,
        request_digest="sha256:" + "ab" * 32,
        sent_at=EARLIER,
        details=details,
        journal_seq=7,
    )


def make_state(
    *records: ResourceRecord,
    pending: Iterable[PendingOperation] = (),
    serial: int = 4,
    lineage: str = LINEAGE,
) -> StateDocument:
    """A StateDocument with ``records`` keyed by address."""
    return StateDocument(
        lineage=lineage,
        serial=serial,
        resources={r.address: r for r in records},
        pending={p.address: p for p in pending},
    )


def main_workspace_record(remote_id: str = "ws-1") -> ResourceRecord:
    """The record of workspace ``main`` (the default workspace of make_job_spec)."""
    return make_record("workspaces.main", remote_id, make_workspace_spec())
