"""Settle requests whose answer was lost (outcome unknown), from what the service says now.

A create is never sent again blindly. A lost job create is looked up with ``GET /jobs`` and a
``$filter`` on name, iTwin and creation time (from the moment the intent was journalled, less an
allowance for clock skew): exactly one match is adopted; none means it was not created and the
next plan creates it; several, or a list that cannot be read, stay unresolved and every plan shows
the command that settles them. Workspaces cannot be listed, so a lost workspace create always
waits for the user. Submits, deletes and cancels are verified with a GET.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from rmapply.apply.recording import job_record, observed, with_history_state
from rmapply.client import RealityModelingClient
from rmapply.errors import ApiError, NotFoundError
from rmapply.refresh import NOT_FOUND_CODES, not_the_api, proof_of_absence
from rmapply.state import PendingOperation, ReplacedId, ResourceRecord, StateDocument, StateSession
from rmapply.wire import Job

# server clocks and ours differ; a match may have been created a little "before" we sent it
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
LIST_PAGE = 100


class Outcome(StrEnum):
    """How a pending operation was settled."""

    ADOPTED = "adopted"  # the lost create did happen: the one matching job is now in state
    DONE = "done"  # the lost submit/delete/cancel did happen: recorded
    NOT_DONE = "not done"  # it did not happen (or is re-planned safely): dropped
    UNRESOLVED = "unresolved"  # cannot tell: stays pending, shown with commands by every plan


@dataclass(frozen=True)
class Resolution:
    """The verdict on one pending operation, and what to write into the state for it."""

    address: str
    action: str
    outcome: Outcome
    message: str
    remote_id: str | None = None
    record: ResourceRecord | None = None  # to upsert (adopted / done)
    remove: bool = False  # the resource is gone (a delete that happened)
    candidates: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


def resolve_pending(
    session_or_doc: StateSession | StateDocument,
    client: RealityModelingClient,
    now: datetime,
    *,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> list[Resolution]:
    """Try to settle every pending operation; with a session the verdicts are journalled.

    With a bare StateDocument nothing is written (a read-only plan can still show them).
    """
    if isinstance(session_or_doc, StateDocument):
        document, session = session_or_doc, None
    else:
        document, session = session_or_doc.document, session_or_doc
    resolutions = []
    for address in sorted(document.pending):
        resolution = resolve_operation(
            document.pending[address], document, client, now, clock_skew=clock_skew
        )
        resolutions.append(resolution)
        if session is not None and resolution.outcome is not Outcome.UNRESOLVED:
            session.journal.resolve(
                address,
                upsert=resolution.record,
                remove=address if resolution.remove else None,
                now=now,
            )
    return resolutions


def resolve_operation(
    operation: PendingOperation,
    document: StateDocument,
    client: RealityModelingClient,
    now: datetime,
    *,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> Resolution:
    """The verdict on one pending operation (reads the service; writes nothing)."""
    kind = operation.details.get("kind") or (
        "workspace" if operation.address.startswith("workspaces.") else "job"
    )
    if operation.action == "create":
        if kind == "workspace":
            return _workspace_create(operation)
        return _job_create(operation, document, client, now, clock_skew)
    if operation.action == "submit":
        return _submit(operation, document, client, now)
    if operation.action in ("delete", "retire-delete"):
        return _delete(operation, document, client, kind)
    # update, forget, cancel, record, observe: idempotent or verified when re-planned, so the
    # plan simply decides again from what a refresh sees
    return Resolution(
        operation.address,
        operation.action,
        Outcome.NOT_DONE,
        f"the {operation.action} is planned again from what the service shows now",
    )


def job_filter(operation: PendingOperation, clock_skew: timedelta) -> str:
    """The ``$filter`` that finds the job a lost create may have made."""
    name = str(operation.details.get("name") or "")
    since = (operation.sent_at - clock_skew).astimezone(UTC)
    parts = [f"name eq '{name.replace(chr(39), chr(39) * 2)}'"]
    itwin = operation.details.get("iTwinId")
    if itwin:
        parts.insert(0, f"iTwinId eq {itwin}")
    parts.append(f"createdDateTime ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return " and ".join(parts)


def _commands(address: str, placeholder: str, candidates: Sequence[str] = ()) -> tuple[str, ...]:
    imports = [f"rmapply import {address} {c}" for c in candidates] or [
        f"rmapply import {address} {placeholder}"
    ]
    return (*imports, f"rmapply state forget-intent {address}")


def _workspace_create(operation: PendingOperation) -> Resolution:
    name = operation.details.get("name")
    return Resolution(
        operation.address,
        "create",
        Outcome.UNRESOLVED,
        f"the create of workspace {name!r} was sent at {operation.sent_at.isoformat()} but its "
        "answer was lost, and the API cannot list workspaces to find out whether it exists: "
        "import it if you know its id, or forget the intent to create it again (an empty "
        "workspace costs nothing)",
        commands=_commands(operation.address, "WORKSPACE_ID"),
    )


def _known_ids(document: StateDocument) -> set[str]:
    ids = set()
    for record in document.resources.values():
        ids.add(record.remote_id)
        ids.update(h.id for h in record.history)
    return ids


def _rivals(operation: PendingOperation, document: StateDocument) -> list[str]:
    """Other unsettled creates of a job with the same name in the same workspace."""
    details = operation.details
    return sorted(
        other.address
        for other in document.pending.values()
        if other.address != operation.address
        and other.action == "create"
        and other.details.get("name") == details.get("name")
        and other.details.get("workspaceId") == details.get("workspaceId")
    )


def _matches(job: Job, details: dict[str, Any]) -> bool:
    if details.get("workspaceId") and job.workspace_id != details["workspaceId"]:
        return False
    if details.get("type") and job.type.value != details["type"]:
        return False
    inputs = details.get("inputIds")
    return inputs is None or sorted(i.id for i in job.inputs) == sorted(inputs)


def _job_create(
    operation: PendingOperation,
    document: StateDocument,
    client: RealityModelingClient,
    now: datetime,
    clock_skew: timedelta,
) -> Resolution:
    address, details = operation.address, operation.details
    query = job_filter(operation, clock_skew)
    try:
        found = list(client.list_jobs(query, top=LIST_PAGE))
    except ApiError as exc:
        return Resolution(
            address,
            "create",
            Outcome.UNRESOLVED,
            f"the create of job {details.get('name')!r} was sent at "
            f"{operation.sent_at.isoformat()} but its answer was lost, and listing jobs to find "
            f"it failed ({exc.message})",
            commands=_commands(address, "JOB_ID"),
        )
    known = _known_ids(document)
    candidates = [j for j in found if j.id not in known and _matches(j, details)]
    rivals = _rivals(operation, document)
    if candidates and rivals:
        # another create just like this one is unsettled too: a match may be the other's job
        ids = tuple(sorted(j.id for j in candidates))
        return Resolution(
            address,
            "create",
            Outcome.UNRESOLVED,
            f"{len(ids)} job(s) match the lost create ({query!r}): {', '.join(ids)}, but "
            f"{', '.join(rivals)} also sent a create of a job named {details.get('name')!r} in "
            "the same workspace whose outcome is unknown; import each job into the address it "
            "belongs to",
            candidates=ids,
            commands=_commands(address, "JOB_ID", ids),
        )
    if not candidates:
        return Resolution(
            address,
            "create",
            Outcome.NOT_DONE,
            f"no job matching {query!r} exists: it was not created and is planned again",
        )
    if len(candidates) > 1:
        ids = tuple(sorted(j.id for j in candidates))
        return Resolution(
            address,
            "create",
            Outcome.UNRESOLVED,
            f"{len(ids)} jobs match the lost create ({query!r}): {', '.join(ids)}; import the "
            "one that belongs to this address",
            candidates=ids,
            commands=_commands(address, "JOB_ID", ids),
        )
    job = candidates[0]
    retired = details.get("replaces")
    record = job_record(
        address,
        job,
        spec=details.get("spec") or {},
        spec_digest=str(details.get("specDigest") or ""),
        now=now,
        previous=document.resources.get(address),
        retired=ReplacedId.model_validate(retired) if retired else None,
    )
    return Resolution(
        address,
        "create",
        Outcome.ADOPTED,
        f"job {job.id} (created {job.created_date_time.isoformat()}) matches the lost create",
        remote_id=job.id,
        record=record,
    )


def _submit(
    operation: PendingOperation,
    document: StateDocument,
    client: RealityModelingClient,
    now: datetime,
) -> Resolution:
    address = operation.address
    job_id = str(operation.details.get("remoteId") or "")
    record = document.resources.get(address)
    try:
        job = client.get_job(job_id)
    except NotFoundError as exc:
        _require_proof(client, exc, "job")
        return Resolution(address, "submit", Outcome.NOT_DONE, f"job {job_id} no longer exists")
    except ApiError as exc:
        return Resolution(
            address,
            "submit",
            Outcome.UNRESOLVED,
            f"the submit of job {job_id} lost its answer and reading the job failed "
            f"({exc.message})",
            remote_id=job_id,
            commands=(f"rmapply state forget-intent {address}",),
        )
    if not job.state.is_submitted:
        return Resolution(
            address, "submit", Outcome.NOT_DONE, f"job {job_id} is still unsubmitted", job_id
        )
    updated = observed(record, job, now) if record and record.remote_id == job_id else None
    return Resolution(
        address, "submit", Outcome.DONE, f"job {job_id} is {job.state.value}", job_id, updated
    )


def _require_proof(client: RealityModelingClient, exc: NotFoundError, kind: str) -> None:
    """Only the API's own not-found answer settles a lost request; a proxy's 404 stops here."""
    kind = "workspace" if kind == "workspace" else "job"
    if proof_of_absence(exc, kind) is None:
        raise not_the_api(client.base_url, exc, NOT_FOUND_CODES[kind]) from exc


def _delete(
    operation: PendingOperation,
    document: StateDocument,
    client: RealityModelingClient,
    kind: str,
) -> Resolution:
    address, action = operation.address, operation.action
    remote_id = str(operation.details.get("remoteId") or "")
    try:
        if kind == "workspace":
            client.get_workspace(remote_id)
        else:
            client.get_job(remote_id)
    except NotFoundError as exc:
        _require_proof(client, exc, kind)
        record = document.resources.get(address)
        if action == "retire-delete":
            kept = with_history_state(record, remote_id, "deleted") if record else None
            return Resolution(
                address, action, Outcome.DONE, f"{remote_id} is gone", remote_id, kept
            )
        return Resolution(
            address, action, Outcome.DONE, f"{remote_id} is gone", remote_id, remove=True
        )
    except ApiError as exc:
        return Resolution(
            address,
            action,
            Outcome.UNRESOLVED,
            f"the delete of {remote_id} lost its answer and reading it failed ({exc.message})",
            remote_id=remote_id,
            commands=(f"rmapply state forget-intent {address}",),
        )
    return Resolution(address, action, Outcome.NOT_DONE, f"{remote_id} still exists", remote_id)
