"""Settle requests whose answer was lost (outcome unknown), from what the service says now.

A create is never sent again blindly. A lost job create is looked up with ``GET /jobs`` and a
``$filter`` on name, iTwin and creation time (from the moment the intent was journalled, less an
allowance for clock skew): exactly one match is adopted; none means it was not created and the
next plan creates it; several, or a list that cannot be read, stay unresolved and every plan shows
the command that settles them. Workspaces cannot be listed, so a lost workspace create always
waits for the user. Submits, deletes and cancels are verified with a GET.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from rmapply.apply.recording import job_record, observed, with_history_state
from rmapply.client import RealityModelingClient
from rmapply.errors import ApiError, NotFoundError
from rmapply.plan.pending import (
    DEFAULT_IN_FLIGHT_MARGIN,
    IN_FLIGHT_COMMANDS,
    in_flight_message,
    in_flight_until,
    may_still_land,
)
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
    # a create that may still be in flight: our time after which the next apply settles it
    settles_after: datetime | None = None


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
        return _job_create(_JobLookup(operation, client, now, clock_skew, margin, current, taken))
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


def job_filter(
    operation: PendingOperation, clock_skew: timedelta, itwin_id: str | None = None
) -> str:
    """The ``$filter`` that finds the job a lost create may have made (in ``itwin_id``, else
    the iTwin the intent recorded)."""
    name = str(operation.details.get("name") or "")
    parts = [f"name eq '{name.replace(chr(39), chr(39) * 2)}'"]
    itwin = itwin_id or operation.details.get("iTwinId")
    if itwin:
        parts.insert(0, f"iTwinId eq {itwin}")
    parts.append(
        f"createdDateTime ge {_since(operation, clock_skew).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    return " and ".join(parts)


def _since(operation: PendingOperation, clock_skew: timedelta) -> datetime:
    """The earliest creation time a job of this create can have (whole seconds, as sent)."""
    return (operation.sent_at - clock_skew).astimezone(UTC).replace(microsecond=0)


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


def _matches(job: Job, details: dict[str, Any], since: datetime) -> bool:
    """Whether ``job`` is what the lost create would have made; the name and the creation time
    are checked here too, never left to the service's ``$filter`` alone."""
    if job.name != details.get("name"):
        return False
    if job.created_date_time.astimezone(UTC) < since:
        return False
    if details.get("workspaceId") and job.workspace_id != details["workspaceId"]:
        return False
    if details.get("type") and job.type.value != details["type"]:
        return False
    inputs = details.get("inputIds")
    return inputs is None or sorted(i.id for i in job.inputs) == sorted(inputs)


@dataclass(frozen=True)
class _JobLookup:
    """What the lookup of one lost job create works with."""

    operation: PendingOperation
    client: RealityModelingClient
    now: datetime
    clock_skew: timedelta
    margin: float
    current: Callable[[], StateDocument]
    taken: frozenset[str]

    @property
    def address(self) -> str:
        return self.operation.address

    def unresolved(self, message: str, candidates: tuple[str, ...] = ()) -> Resolution:
        return Resolution(
            self.address,
            "create",
            Outcome.UNRESOLVED,
            message,
            candidates=candidates,
            commands=_commands(self.address, "JOB_ID", candidates),
        )


def _workspace_itwin(lookup: _JobLookup) -> tuple[str | None, str]:
    """The iTwin of the workspace the lost create targeted, and a problem ("" when none).

    A workspace in state says it; any other (a literal ``workspaceId``, maybe of another iTwin)
    is read from the service, never assumed to be in the project's iTwin.
    """
    details = lookup.operation.details
    workspace_id = details.get("workspaceId")
    if not workspace_id:
        itwin = details.get("iTwinId")
        return (str(itwin) if itwin else None), ""
    for record in lookup.current().resources.values():
        if record.kind == "workspace" and record.remote_id == workspace_id:
            itwin = (record.remote or {}).get("iTwinId") or record.spec.get("iTwinId")
            if itwin:
                return str(itwin), ""
    try:
        workspace = lookup.client.get_workspace(str(workspace_id))
    except ApiError as exc:
        return None, f"reading workspace {workspace_id} to learn its iTwin failed ({exc.message})"
    return workspace.i_twin_id, ""


def _job_create(lookup: _JobLookup) -> Resolution:
    operation, address, details = lookup.operation, lookup.address, lookup.operation.details
    lost = (
        f"the create of job {details.get('name')!r} was sent at {operation.sent_at.isoformat()}"
        " but its answer was lost"
    )
    itwin, problem = _workspace_itwin(lookup)
    if problem:
        return lookup.unresolved(f"{lost}, and {problem}")
    query = job_filter(operation, lookup.clock_skew, itwin)
    try:
        found = list(lookup.client.list_jobs(query, top=LIST_PAGE))
    except ApiError as exc:
        return lookup.unresolved(f"{lost}, and listing jobs to find it failed ({exc.message})")
    # only now, after the list returned: a sibling's create recorded meanwhile is known
    document = lookup.current()
    known = _known_ids(document) | lookup.taken
    since = _since(operation, lookup.clock_skew)
    candidates = [j for j in found if j.id not in known and _matches(j, details, since)]
    rivals = _rivals(operation, document)
    if candidates and rivals:
        # another create just like this one is unsettled too: a match may be the other's job
        ids = tuple(sorted(j.id for j in candidates))
        return lookup.unresolved(
            f"{len(ids)} job(s) match the lost create ({query!r}): {', '.join(ids)}, but "
            f"{', '.join(rivals)} also sent a create of a job named {details.get('name')!r} in "
            "the same workspace whose outcome is unknown; import each job into the address it "
            "belongs to",
            ids,
        )
    if not candidates:
        service_now = lookup.client.service_clock.now()
        if may_still_land(operation, lookup.now, margin=lookup.margin, service_now=service_now):
            return Resolution(
                address,
                "create",
                Outcome.UNRESOLVED,
                in_flight_message(operation, lookup.margin),
                commands=IN_FLIGHT_COMMANDS,
                settles_after=in_flight_until(operation, lookup.margin),
            )
        return Resolution(
            address,
            "create",
            Outcome.NOT_DONE,
            f"no job matching {query!r} exists: it was not created and is planned again",
        )
    if len(candidates) > 1:
        ids = tuple(sorted(j.id for j in candidates))
        return lookup.unresolved(
            f"{len(ids)} jobs match the lost create ({query!r}): {', '.join(ids)}; import the "
            "one that belongs to this address",
            ids,
        )
    job = candidates[0]
    retired = details.get("replaces")
    record = job_record(
        address,
        job,
        spec=details.get("spec") or {},
        spec_digest=str(details.get("specDigest") or ""),
        now=lookup.now,
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
    except NotFoundError:
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
    except NotFoundError:
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
