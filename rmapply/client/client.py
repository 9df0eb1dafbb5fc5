"""RealityModelingClient: the whole v1 API, returning rmapply.wire models."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote, urlencode, urlsplit

from rmapply.client.auth import Auth, auth_from_env
from rmapply.client.caller import Call, Caller
from rmapply.client.events import EventSink, OutcomeVerified, ignore_event
from rmapply.client.responses import page_items, parse_answer
from rmapply.client.retrying import RetryPolicy
from rmapply.client.service_clock import ServiceClock
from rmapply.client.transport import USER_AGENT, HttpTransport, Timeout, endpoint_host
from rmapply.errors import (
    ApiError,
    InvalidChangeError,
    OutcomeUnknownError,
    ServerError,
    redact_urls,
)
from rmapply.wire import (
    DEFAULT_ENDPOINT,
    EnginesLimit,
    EnginesLimitResponse,
    Job,
    JobPatch,
    JobProgress,
    JobProgressResponse,
    JobResponse,
    JobsResponse,
    PatchState,
    WireModel,
    Workspace,
    WorkspaceCreation,
    WorkspaceResponse,
)

if TYPE_CHECKING:  # made on first use: a plan creating no job never needs it
    from rmapply.wire import JobCreation

M = TypeVar("M", bound=WireModel)


class RealityModelingClient:
    """A thread-safe client of the Reality Modeling v1 API (``/contextcapture``).

    Share one instance between worker threads: connections are pooled, a 429 pauses every
    thread, and retries follow the rules in docs/client.md.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_ENDPOINT,
        auth: Auth | None = None,
        *,
        timeout: Timeout | tuple[float, float] | float = (10.0, 60.0),
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        on_event: EventSink | None = None,
        pool_size: int = 16,
        verify: bool | str | None = None,
        transport: HttpTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        endpoint_host(base_url)  # refuse a URL that is not http(s) before anything else
        self.base_url = base_url.rstrip("/")
        self.auth = auth if auth is not None else auth_from_env()
        self.retry = retry or RetryPolicy()
        self._on_event = on_event or ignore_event
        self.timeout = Timeout.of(timeout)
        agent = f"{USER_AGENT} {user_agent}" if user_agent else USER_AGENT
        if transport is None:
            # Imported here: a client given its own transport never loads urllib3.
            from rmapply.client.urllib3_transport import Urllib3Transport

            transport = Urllib3Transport.for_endpoint(
                self.base_url, pool_size=pool_size, verify=verify
            )
        self._transport: HttpTransport = transport
        self._caller = Caller(
            self.base_url,
            self.auth,
            retry=self.retry,
            on_event=self._on_event,
            transport=transport,
            timeout=self.timeout,
            user_agent=agent,
            sleep=sleep,
        )

    @property
    def service_clock(self) -> ServiceClock:
        """The service's clock as its ``Date`` headers tell it."""
        return self._caller.service_clock

    # -- workspaces -------------------------------------------------------------------------

    def create_workspace(self, body: WorkspaceCreation) -> Workspace:
        """POST /workspaces (never re-sent once it may have arrived)."""
        call = Call("POST", "/workspaces", body=_encode(body), idempotent=False)
        return self._answer(WorkspaceResponse, call).workspace

    def get_workspace(self, workspace_id: str) -> Workspace:
        """GET /workspaces/{id}."""
        call = Call("GET", _path("workspaces", workspace_id))
        return self._answer(WorkspaceResponse, call).workspace

    def delete_workspace(self, workspace_id: str) -> None:
        """DELETE /workspaces/{id}."""
        self._caller.call(Call("DELETE", _path("workspaces", workspace_id), gone_is_done=True))

    # -- jobs -------------------------------------------------------------------------------

    def create_job(self, body: JobCreation) -> Job:
        """POST /jobs: a new unsubmitted job (never re-sent once it may have arrived)."""
        call = Call("POST", "/jobs", body=_encode(body), idempotent=False)
        return self._answer(JobResponse, call).job

    def get_job(self, job_id: str) -> Job:
        """GET /jobs/{id}."""
        return self._answer(JobResponse, Call("GET", _path("jobs", job_id))).job

    def patch_job(self, job_id: str, body: JobPatch) -> Job:
        """PATCH /jobs/{id}; retried like a GET unless the body changes the state."""
        call = Call(
            "PATCH", _path("jobs", job_id), body=_encode(body), idempotent=body.state is None
        )
        return self._answer(JobResponse, call).job

    def submit_job(self, job_id: str) -> Job:
        """PATCH {"state": "Active"}; a lost answer is checked with a GET, never re-sent blindly."""
        return self._change_state(job_id, PatchState.ACTIVE, lambda job: job.state.is_submitted)

    def cancel_job(self, job_id: str) -> Job:
        """PATCH {"state": "Cancelled"}; a lost answer is checked with a GET like submit_job."""
        return self._change_state(job_id, PatchState.CANCELLED, lambda job: job.state.is_terminal)

    def delete_job(self, job_id: str) -> None:
        """DELETE /jobs/{id} (only unsubmitted jobs can be deleted)."""
        self._caller.call(Call("DELETE", _path("jobs", job_id), gone_is_done=True))

    def get_progress(self, job_id: str) -> JobProgress:
        """GET /jobs/{id}/progress."""
        call = Call("GET", _path("jobs", job_id) + "/progress")
        return self._answer(JobProgressResponse, call).job_progress

    def list_jobs_page(
        self, filter: str, *, top: int | None = None, continuation_token: str | None = None
    ) -> tuple[list[Job], str | None]:
        """One page of GET /jobs and the continuation token of the next page (None at the end)."""
        jobs, _, token = self._jobs_page(filter, top, continuation_token, keep_items=False)
        return jobs, token

    def list_jobs(self, filter: str, *, top: int | None = None) -> Iterator[Job]:
        """Every job matching ``filter``, following continuation tokens page after page."""
        for job, _ in self._listing(filter, top, keep_items=False):
            yield job

    def list_job_items(
        self, filter: str, *, top: int | None = None
    ) -> Iterator[tuple[Job, dict[str, Any] | None]]:
        """As list_jobs, each job with the JSON object the page held for it (None when the page
        could not be read item by item): a caller that kept an earlier wire form of a job can
        tell it unchanged by comparing plain data."""
        return self._listing(filter, top, keep_items=True)

    def _listing(
        self, filter: str, top: int | None, *, keep_items: bool
    ) -> Iterator[tuple[Job, dict[str, Any] | None]]:
        token: str | None = None
        seen: set[str] = set()
        while True:
            jobs, items, token = self._jobs_page(filter, top, token, keep_items=keep_items)
            if items is None:
                for job in jobs:
                    yield job, None
            else:
                yield from zip(jobs, items, strict=True)
            if token is None:
                return
            if token in seen:
                raise ApiError(
                    "GET /jobs: the service returned the same continuation token twice",
                    method="GET",
                    path="/jobs",
                    hint="the listing would never end; report this to the service owner",
                )
            seen.add(token)

    def _jobs_page(
        self,
        filter: str,
        top: int | None,
        continuation_token: str | None,
        *,
        keep_items: bool,
    ) -> tuple[list[Job], list[dict[str, Any]] | None, str | None]:
        params: list[tuple[str, str]] = [("$filter", filter)]
        if top is not None:
            params.append(("$top", str(top)))
        if continuation_token is not None:
            params.append(("continuationToken", continuation_token))
        call = Call("GET", "/jobs", query=urlencode(params, quote_via=quote, safe="$"))
        response = self._caller.call(call)
        page = parse_answer(
            JobsResponse, response, call.method, call.path, processed=not call.idempotent
        )
        href = page.links.next.href if page.links and page.links.next else None
        jobs = list(page.jobs or [])
        items = page_items(response.body, len(jobs)) if keep_items else None
        return jobs, items, _continuation_token(href) if href else None

    # -- limits -----------------------------------------------------------------------------

    def engines_limit(self, itwin_id: str | None = None) -> EnginesLimit:
        """GET /limits/engines[?iTwinId=...]."""
        query = urlencode({"iTwinId": itwin_id}, quote_via=quote) if itwin_id else ""
        answer = self._answer(EnginesLimitResponse, Call("GET", "/limits/engines", query=query))
        return answer.engines_limit or EnginesLimit()

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the transport (its pooled connections)."""
        self._transport.close()

    def __enter__(self) -> RealityModelingClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        base_url = redact_urls(self.base_url)
        return f"RealityModelingClient(base_url={base_url!r}, auth={self.auth!r})"

    # -- internals --------------------------------------------------------------------------

    def _answer(self, model: type[M], call: Call) -> M:
        response = self._caller.call(call)
        processed = not call.idempotent
        return parse_answer(model, response, call.method, call.path, processed=processed)

    def _change_state(self, job_id: str, state: PatchState, done: Callable[[Job], bool]) -> Job:
        """Send a state change; after a lost answer GET the job, and resend only if unchanged."""
        path = _path("jobs", job_id)
        call = Call("PATCH", path, body=_encode(JobPatch(state=state)), idempotent=False)
        attempts = max(1, self.retry.verify_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return self._answer(JobResponse, call).job
            except InvalidChangeError:
                if attempt == 1:
                    raise
                # An earlier send whose answer was lost may have been applied after all.
                job = self.get_job(job_id)
                if done(job):
                    return job
                raise
            except (OutcomeUnknownError, ServerError) as exc:
                try:
                    job = self.get_job(job_id)
                except ApiError as verify_failed:
                    raise exc from verify_failed
                self._on_event(OutcomeVerified("PATCH", path, job.state.value))
                if done(job):
                    return job
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


def _encode(body: WireModel) -> bytes:
    """The one serialisation of a request body: exactly what the plan file shows."""
    return json.dumps(body.to_wire(), separators=(",", ":"), ensure_ascii=False).encode()


def _path(collection: str, resource_id: str) -> str:
    if not resource_id:
        raise ValueError(f"an id is needed for /{collection}/{{id}}")
    return f"/{collection}/{quote(resource_id, safe='')}"


def _continuation_token(href: str) -> str:
    """The ``continuationToken`` of a next-page link ('+' kept: tokens are often base64)."""
    for part in urlsplit(href).query.split("&"):
        key, _, value = part.partition("=")
        if unquote(key) == "continuationToken" and value:
            return unquote(value)
    raise ApiError(
        "GET /jobs: the next-page link carries no continuationToken",
        method="GET",
        path="/jobs",
        hint="the listing cannot be continued; report this to the service owner",
    )
