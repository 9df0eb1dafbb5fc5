"""Settle requests whose answer was lost (outcome unknown), from what the service says now.

A create is never sent again blindly. A lost job create is looked up with ``GET /jobs`` and a
``$filter`` on name, iTwin and creation time (``rmapply.apply.lost_jobs``): exactly one match is
adopted; none means it was not created once it can no longer be in flight, and the next plan
creates it; several, or a list that cannot be read, stay unresolved and every plan shows the
command that settles them. A lost workspace create is made again by the plan (workspaces cost
nothing and cannot be listed). Submits, deletes and cancels are verified with a GET.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from rmapply.apply.lost_jobs import LIST_PAGE, JobLookup, job_filter, lost_job_create
from rmapply.apply.recording import observed, with_history_state
from rmapply.apply.verdicts import Outcome, Resolution, settle_commands
from rmapply.client import RealityModelingClient
from rmapply.errors import ApiError, NotFoundError
from rmapply.plan.pending import DEFAULT_IN_FLIGHT_MARGIN
from rmapply.refresh import NOT_FOUND_CODES, not_the_api, proof_of_absence
from rmapply.state import PendingOperation, StateDocument, StateSession

# server clocks and ours differ; a match may have been created a little "before" we sent it
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "LIST_PAGE",
    "Outcome",
    "Resolution",
    "is_workspace_create",
    "job_filter",
    "resolve_operation",
    "resolve_pending",
]


def resolve_pending(
    session_or_doc: StateSession | StateDocument,
    client: RealityModelingClient,
    now: datetime,
    *,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    margin: float = DEFAULT_IN_FLIGHT_MARGIN,
) -> list[Resolution]:
    """Try to settle every pending operation; with a session the verdicts are journalled.

    With a bare StateDocument nothing is written (a read-only plan can still show them). A lost
    workspace create is left to the plan, which creates the workspace again (it costs nothing).
    """
    if isinstance(session_or_doc, StateDocument):
        document, session = session_or_doc, None
    else:
        document, session = session_or_doc.document, session_or_doc
    resolutions = []
    adopted: set[str] = set()  # ids adopted by this call: never by a second address
    for address in sorted(document.pending):
        operation = document.pending[address]
        if is_workspace_create(operation):
            if not _recorded_as_lost(operation, document):
                continue  # the plan creates the workspace again and records this request
            resolution = Resolution(
                address,
                "create",
                Outcome.DONE,
                "the workspace was created again; this lost request is recorded as possibly"
                " orphaned",
            )
        else:
            resolution = resolve_operation(
                operation,
                document,
                client,
                now,
                clock_skew=clock_skew,
                margin=margin,
                taken=frozenset(adopted),
            )
        resolutions.append(resolution)
        if resolution.outcome is Outcome.ADOPTED and resolution.remote_id:
            adopted.add(resolution.remote_id)
        if session is not None and resolution.outcome is not Outcome.UNRESOLVED:
            session.journal.resolve(
                address,
                upsert=resolution.record,
                remove=address if resolution.remove else None,
                now=now,
            )
    return resolutions


def _recorded_as_lost(operation: PendingOperation, document: StateDocument) -> bool:
    """True when the record at the address already keeps this lost create (a crash came
    between recording the workspace made again and dropping the pending operation)."""
    record = document.resources.get(operation.address)
    return record is not None and any(
        lost.sent_at == operation.sent_at for lost in record.lost_requests
    )


def is_workspace_create(operation: PendingOperation) -> bool:
    """True for a lost workspace create (settled by creating the workspace again)."""
    return operation.action == "create" and _kind(operation) == "workspace"


def _kind(operation: PendingOperation) -> str:
    return str(
        operation.details.get("kind")
        or ("workspace" if operation.address.startswith("workspaces.") else "job")
    )


def resolve_operation(
    operation: PendingOperation,
    document: StateDocument,
    client: RealityModelingClient,
    now: datetime,
    *,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    margin: float = DEFAULT_IN_FLIGHT_MARGIN,
    latest: Callable[[], StateDocument] | None = None,
    taken: frozenset[str] = frozenset(),
) -> Resolution:
    """The verdict on one pending operation (reads the service; writes nothing).

    ``latest`` gives the state as of the moment it is called (apply's other workers keep
    recording): which ids other addresses hold is read from it only once the list returned.
    ``taken`` are ids already adopted elsewhere and never adopted again.
    """
    kind = _kind(operation)
    if operation.action == "create":
        if kind == "workspace":
            return _workspace_create(operation)
        current = latest or (lambda: document)
        return lost_job_create(
            JobLookup(operation, client, now, clock_skew, margin, current, taken)
        )
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
        commands=settle_commands(operation.address, "WORKSPACE_ID"),
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
