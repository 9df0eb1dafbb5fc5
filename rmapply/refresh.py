"""Refresh: read the remote side of every resource in state into a RemoteView for the planner."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from rmapply.errors import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    PlanError,
    TransportError,
)
from rmapply.gc_pause import gc_paused
from rmapply.model import Address
from rmapply.plan import RemoteChangeCategory, RemoteView
from rmapply.plan.drift import remote_change
from rmapply.plan.remote import observe
from rmapply.state import StateDocument
from rmapply.wire import Job, Workspace

if TYPE_CHECKING:  # the client (urllib3) is imported only by commands that talk to the API
    from rmapply.client import RealityModelingClient
    from rmapply.plan import RemoteChange  # made on first use (a change to report)

LIST_PAGE_SIZE = 1000  # the most the list endpoint serves per page
# The only answers that prove a resource is gone: a 404 of its own GET carrying the API's code.
NOT_FOUND_CODES = {"job": "JobNotFound", "workspace": "WorkspaceNotFound"}
CREDENTIALS = "RMAPPLY_TOKEN, or RMAPPLY_CLIENT_ID and RMAPPLY_CLIENT_SECRET"
MASS_REMOVAL_FLAG = "--allow-mass-removal"
# map() or a thread pool's map: runs a fetch over ids, yielding its results in order.
Mapper = Callable[[Callable[[str], Any], Iterable[str]], Iterable[Any]]


# a named tuple: built at import for a third of a dataclass's cost
class RefreshResult(NamedTuple):
    """What a refresh saw, how it looked (``list`` pages or ``get`` per id), and what failed.

    ``problems`` holds every warning; ``unread`` only the resources that could not be read (their
    remote side is unknown); ``proofs`` the answer that proved each id in ``view.gone`` gone.
    """

    view: RemoteView
    list_pages_used: bool
    get_requests: int
    problems: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()
    proofs: Mapping[str, str] = MappingProxyType({})  # read-only: one default for all


def _itwins(state: StateDocument, project_itwin: str | None) -> list[str]:
    """The iTwins whose jobs are in state: the project's, and any a job record was seen in."""
    found = {project_itwin} if project_itwin else set()
    for record in state.resources.values():
        if record.kind == "job" and record.remote and record.remote.get("iTwinId"):
            found.add(str(record.remote["iTwinId"]))
    return sorted(found)


def _list_jobs(
    client: RealityModelingClient,
    itwins: Iterable[str],
    wanted: set[str],
    page_size: int,
    items: dict[str, Any],
) -> tuple[dict[str, Job], list[str]]:
    """Jobs in ``wanted`` found by listing each iTwin page by page; problems met on the way.
    ``items`` receives the JSON object the page held for each job found (see RemoteView).

    The listing stops as soon as every wanted job was seen: an iTwin shared with other projects
    may hold many more jobs than the state.
    """
    found: dict[str, Job] = {}
    problems: list[str] = []
    for itwin in itwins:
        try:
            for job, item in client.list_job_items(f"iTwinId eq {itwin}", top=page_size):
                if job.id in wanted:
                    found[job.id] = job
                    if item is not None:
                        items[job.id] = item
                    if len(found) == len(wanted):
                        return found, problems
        except TransportError as exc:
            raise _unreachable(client, exc) from exc
        except AuthenticationError as exc:
            raise refused_credentials(client.base_url, exc) from exc
        except ApiError as exc:
            # The list endpoint may be missing or refuse the filter: fall back to GETs per id.
            # A listing is never evidence of absence: what it did not show is fetched by id.
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


def refused_credentials(base_url: str, exc: AuthenticationError) -> AuthenticationError:
    """401 or 403: nothing can be read with these credentials; say which ones to check."""
    what = "refused the credentials" if exc.status == 401 else "refused access"
    return AuthenticationError(
        f"{base_url} {what}: {exc.message}",
        method=exc.method,
        path=exc.path,
        status=exc.status,
        code=exc.code,
        hint=f"{exc.hint}; the credentials come from {CREDENTIALS}"
        if exc.hint
        else f"check the credentials in {CREDENTIALS}",
    )


def stop_error(errors: Sequence[ApiError], base_url: str) -> ApiError | None:
    """The error that makes every further read pointless, if one is among ``errors``: refused
    credentials first, then a 404 that is not the API's (``rmapply wait`` stops at once)."""
    for error in errors:
        if isinstance(error, AuthenticationError):
            return refused_credentials(base_url, error)
    for error in errors:
        if isinstance(error, NotFoundError) and proof_of_absence(error, "job") is None:
            return not_the_api(base_url, error, "JobNotFound")
    return None


def not_the_api(base_url: str, exc: NotFoundError, expected: str) -> ApiError:
    """A 404 without the API's not-found code: proof of a wrong endpoint, not of absence."""
    return ApiError(
        f"{exc.method} {exc.path} at {base_url} answered 404 without the API's {expected} "
        f"error ({exc.message.removeprefix(f'{exc.method} {exc.path}: ')}); nothing is "
        "concluded from it",
        method=exc.method,
        path=exc.path,
        status=exc.status,
        hint="the endpoint is probably wrong (a typo, or a proxy answering 404): check "
        "--endpoint, RMAPPLY_ENDPOINT or [api] endpoint in rmapply.toml",
    )


def proof_of_absence(exc: NotFoundError, kind: str) -> str | None:
    """``GET /jobs/ID answered 404 JobNotFound`` when ``exc`` proves absence, else None."""
    code = NOT_FOUND_CODES[kind]
    if exc.status != 404 or exc.code != code:
        return None
    return f"{exc.method or 'GET'} {exc.path} answered 404 {code}"


T = TypeVar("T")


def _fetch_each(
    mapper: Mapper,
    client: RealityModelingClient,
    noun: str,
    get: Callable[[str], T],
    ids: Iterable[str],
    *,
    found: dict[str, T],
    proofs: dict[str, str],
    unread: list[str],
) -> None:
    """GET every id concurrently: found ones into ``found``, proven 404s into ``proofs``, other
    errors into ``unread``. No answer at all, refused credentials, or a 404 that is not the API's
    stop the refresh: it could not tell what exists."""

    def fetch(remote_id: str) -> tuple[str, T | None, str | None, str | None]:
        try:
            return remote_id, get(remote_id), None, None
        except NotFoundError as exc:
            proof = proof_of_absence(exc, noun)
            if proof is None:
                raise not_the_api(client.base_url, exc, NOT_FOUND_CODES[noun]) from exc
            return remote_id, None, proof, None
        except TransportError as exc:
            raise _unreachable(client, exc) from exc
        except AuthenticationError as exc:
            raise refused_credentials(client.base_url, exc) from exc
        except ApiError as exc:
            return remote_id, None, None, f"{noun} {remote_id}: {exc.message}"

    for remote_id, value, proof, problem in mapper(fetch, ids):
        if value is not None:
            found[remote_id] = value
        elif proof is not None:
            proofs[remote_id] = proof
        elif problem is not None:
            unread.append(problem)


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
    did not show is fetched with bounded concurrent GETs. Only a GET answering 404 with the API's
    not-found code proves a resource gone; 401/403 and a 404 of another shape raise.
    """
    job_ids = {r.remote_id for r in state.resources.values() if r.kind == "job"}
    workspace_ids = {r.remote_id for r in state.resources.values() if r.kind == "workspace"}
    jobs: dict[str, Job] = {}
    items: dict[str, Any] = {}
    problems: list[str] = []
    listed = False
    if use_list and job_ids:
        itwins = _itwins(state, itwin_id)
        if itwins:
            with gc_paused(promote=True):  # a page of a thousand jobs holds no cycles
                jobs, problems = _list_jobs(client, itwins, job_ids, page_size, items)
            listed = not problems
    missing_jobs = sorted(job_ids - set(jobs))
    workspaces: dict[str, Workspace] = {}
    proofs: dict[str, str] = {}
    unread: list[str] = []

    def fetch_all(mapper: Mapper) -> None:
        _fetch_each(mapper, client, "job", client.get_job, missing_jobs, **found_in(jobs))
        _fetch_each(
            mapper,
            client,
            "workspace",
            client.get_workspace,
            sorted(workspace_ids),
            **found_in(workspaces),
        )

    def found_in(found: dict[str, Any]) -> dict[str, Any]:
        return {"found": found, "proofs": proofs, "unread": unread}

    if len(missing_jobs) + len(workspace_ids) <= 1:
        # One GET (a no-op plan's workspace): no thread pool, so no concurrent.futures import.
        fetch_all(map)
    else:
        from concurrent.futures import ThreadPoolExecutor  # only a refresh runs threads

        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            fetch_all(pool.map)
    view = RemoteView(jobs=jobs, workspaces=workspaces, gone=frozenset(proofs), listed=items)
    return RefreshResult(
        view=view,
        list_pages_used=listed,
        get_requests=len(missing_jobs) + len(workspace_ids),
        problems=tuple(problems + unread),
        unread=tuple(unread),
        proofs=dict(sorted(proofs.items())),
    )


def proven_gone(state: StateDocument, result: RefreshResult) -> list[tuple[str, str]]:
    """(address, proof) of every resource in ``state`` the refresh proved gone, by address."""
    return [
        (address, result.proofs[record.remote_id])
        for address, record in sorted(state.resources.items())
        if record.remote_id in result.proofs
    ]


def check_mass_removal(state: StateDocument, result: RefreshResult, *, allowed: bool) -> None:
    """Refuse when more than half of the resources in state were proven gone, unless allowed.

    Genuine 404s for most of the state are likelier a valid token of another account (or an
    emptied test service) than a real clean-up: forgetting or re-creating them all needs consent.
    """
    gone = proven_gone(state, result)
    total = len(state.resources)
    if allowed or not gone or len(gone) * 2 <= total:
        return
    lines = "\n".join(f"  {address}: {proof}" for address, proof in gone)
    raise PlanError(
        f"refresh: {len(gone)} of the {total} resources in state answered 404 (not found), more "
        f"than half; refusing to remove them from the state or create them again:\n{lines}",
        hint=f"check the credentials ({CREDENTIALS}) and the endpoint: another account's "
        f"valid token sees none of these; if they really were deleted, run again with "
        f"{MASS_REMOVAL_FLAG}",
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
        if change.category is RemoteChangeCategory.GONE or change.remote is None:
            del resources[key]
            continue
        outputs = dict(record.outputs)
        if record.kind == "job":
            outputs.update(Job.from_answer(change.remote).output_ids())
        resources[key] = record.model_copy(
            update={"remote": change.remote, "outputs": outputs, "refreshed_at": now}
        )
    return state.model_copy(update={"resources": resources})
