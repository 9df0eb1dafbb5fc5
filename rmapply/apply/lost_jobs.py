"""The lookup of a job whose create lost its answer: in which iTwin, what matches, whose it is,
and whether the request may still be in flight (docs/apply.md, "Unknown outcomes")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rmapply.apply.recording import job_record
from rmapply.apply.verdicts import Outcome, Resolution, settle_commands
from rmapply.client import RealityModelingClient
from rmapply.errors import ApiError
from rmapply.plan.pending import (
    IN_FLIGHT_COMMANDS,
    in_flight_message,
    may_still_land,
)
from rmapply.state import PendingOperation, ReplacedId, StateDocument
from rmapply.wire import Job

LIST_PAGE = 100


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
class JobLookup:
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
        """The address whose create was lost."""
        return self.operation.address

    def unresolved(self, message: str, candidates: tuple[str, ...] = ()) -> Resolution:
        """It stays pending: ``message``, with the commands that settle it by hand."""
        return Resolution(
            self.address,
            "create",
            Outcome.UNRESOLVED,
            message,
            candidates=candidates,
            commands=settle_commands(self.address, "JOB_ID", candidates),
        )


def _workspace_itwin(lookup: JobLookup) -> tuple[str | None, str]:
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


def lost_job_create(lookup: JobLookup) -> Resolution:
    """The verdict on one lost job create: adopted, not created, or still pending."""
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
