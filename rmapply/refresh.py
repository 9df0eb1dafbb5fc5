"""Refresh: read the remote side of every resource in state into a RemoteView for the planner."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from rmapply.errors import ApiError, NotFoundError, TransportError
from rmapply.model import Address
from rmapply.plan import ChangeCategory, RemoteChange, RemoteView
from rmapply.plan.drift import remote_change
from rmapply.plan.remote import observe
from rmapply.state import StateDocument
from rmapply.wire import Job, Workspace

if TYPE_CHECKING:  # the client (urllib3) is imported only by commands that talk to the API
    from rmapply.client import RealityModelingClient

LIST_PAGE_SIZE = 1000  # the most the list endpoint serves per page


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh saw, how it looked (``list`` pages or ``get`` per id), and what failed."""

    view: RemoteView
    list_pages_used: bool
    get_requests: int
    problems: tuple[str, ...] = field(default_factory=tuple)


def _itwins(state: StateDocument, project_itwin: str | None) -> list[str]:
    """The iTwins whose jobs are in state: the project's, and any a job record was seen in."""
    found = {project_itwin} if project_itwin else set()
    for record in state.resources.values():
        if record.kind == "job" and record.remote and record.remote.get("iTwinId"):
            found.add(str(record.remote["iTwinId"]))
    return sorted(found)


def _list_jobs(
    client: RealityModelingClient, itwins: Iterable[str], wanted: set[str], page_size: int
) -> tuple[dict[str, Job], list[str]]:
    """Jobs in ``wanted`` found by listing each iTwin page by page; problems met on the way.

    The listing stops as soon as every wanted job was seen: an iTwin shared with other projects
    may hold many more jobs than the state.
    """
    found: dict[str, Job] = {}
    problems: list[str] = []
    for itwin in itwins:
        try:
            for job in client.list_jobs(f"iTwinId eq {itwin}", top=page_size):
                if job.id in wanted:
                    found[job.id] = job
                    if len(found) == len(wanted):
                        return found, problems
        except TransportError as exc:
            raise _unreachable(client, exc) from exc
        except ApiError as exc:
            # The list endpoint may be missing or refuse the filter: fall back to GETs per id.
            problems.append(f"listing the jobs of iTwin {itwin} failed ({exc.message}); used GETs")
    return found, problems


def _unreachable(client: RealityModelingClient, exc: TransportError) -> TransportError:
    """The refresh cannot tell what exists: stop, and say how to plan without it."""
    return TransportError(
        f"refresh: no answer from {client.base_url}: {exc.message}",
        method=exc.method,
        path=exc.path,
        hint="check the endpoint and the network, or plan from the state alone with --no-refresh",
    )


T = TypeVar("T")


def _fetch_each(
    pool: ThreadPoolExecutor,
    client: RealityModelingClient,
    noun: str,
    get: Callable[[str], T],
    ids: Iterable[str],
    *,
    found: dict[str, T],
    gone: set[str],
    problems: list[str],
) -> None:
    """GET every id concurrently: found ones into ``found``, 404s into ``gone``, other errors
    into ``problems``; no answer at all stops the refresh (it could not tell what exists)."""

    def fetch(remote_id: str) -> tuple[str, T | None, str | None]:
        try:
            return remote_id, get(remote_id), None
        except NotFoundError:
            return remote_id, None, None
        except TransportError as exc:
            raise _unreachable(client, exc) from exc
        except ApiError as exc:
            return remote_id, None, f"{noun} {remote_id}: {exc.message}"

    for remote_id, value, problem in pool.map(fetch, ids):
        if value is not None:
            found[remote_id] = value
        elif problem is None:
            gone.add(remote_id)
        else:
            problems.append(problem)


def refresh(
    client: RealityModelingClient,
    state: StateDocument,
    *,
    itwin_id: str | None,
    parallelism: int = 8,
    use_list: bool = True,
    page_size: int = LIST_PAGE_SIZE,
) -> RefreshResult:
    """Learn the current remote state of every job and workspace in ``state``.

    Jobs come from the paged list endpoint where it answers (O(pages), not O(jobs)); what the list
    did not show is fetched with bounded concurrent GETs, which also tell a deleted job (404) from
    one the listing could not see.
    """
    job_ids = {r.remote_id for r in state.resources.values() if r.kind == "job"}
    workspace_ids = {r.remote_id for r in state.resources.values() if r.kind == "workspace"}
    jobs: dict[str, Job] = {}
    problems: list[str] = []
    listed = False
    if use_list and job_ids:
        itwins = _itwins(state, itwin_id)
        if itwins:
            jobs, problems = _list_jobs(client, itwins, job_ids, page_size)
            listed = not problems
    missing_jobs = sorted(job_ids - set(jobs))
    workspaces: dict[str, Workspace] = {}
    gone: set[str] = set()

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        _fetch_each(
            pool,
            client,
            "job",
            client.get_job,
            missing_jobs,
            found=jobs,
            gone=gone,
            problems=problems,
        )
        _fetch_each(
            pool,
            client,
            "workspace",
            client.get_workspace,
            sorted(workspace_ids),
            found=workspaces,
            gone=gone,
            problems=problems,
        )
    view = RemoteView(jobs=jobs, workspaces=workspaces, gone=frozenset(gone))
    return RefreshResult(
        view=view,
        list_pages_used=listed,
        get_requests=len(missing_jobs) + len(workspace_ids),
        problems=tuple(problems),
    )


def remote_changes(state: StateDocument, view: RemoteView) -> list[RemoteChange]:
    """How every resource in ``state`` moved remotely (progress, drift or gone), by address."""
    found: list[RemoteChange] = []
    for key in sorted(state.resources):
        record = state.resources[key]
        change = remote_change(Address.parse(key), record, observe(record, view))
        if change is not None:
            found.append(change)
    return found


def accept_remote_changes(
    state: StateDocument, changes: Iterable[RemoteChange], *, now: datetime
) -> StateDocument:
    """A copy of ``state`` that believes the remote side: new objects and outputs, gone ones
    dropped (their ids kept nowhere else, so the caller prints them first)."""
    resources = dict(state.resources)
    for change in changes:
        key = str(change.address)
        record = resources.get(key)
        if record is None:
            continue
        if change.category is ChangeCategory.GONE or change.remote is None:
            del resources[key]
            continue
        outputs = dict(record.outputs)
        if record.kind == "job":
            outputs.update(Job.from_answer(change.remote).output_ids())
        resources[key] = record.model_copy(
            update={"remote": change.remote, "outputs": outputs, "refreshed_at": now}
        )
    return state.model_copy(update={"resources": resources})
