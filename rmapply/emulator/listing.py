"""``GET /jobs``: scope (the caller's jobs, or an iTwin's), ``$filter``, ``$top`` and paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import quote

from rmapply.emulator import odata, problems
from rmapply.emulator.backend import Backend, Caller
from rmapply.emulator.lifecycle import snapshot
from rmapply.emulator.render import WireRenderer, to_datetime
from rmapply.emulator.request_query import JobsQuery, write_token
from rmapply.emulator.storage import JobRow


class Page(NamedTuple):
    """One page of jobs (their JSON bodies) and the link to the next page, if there is one."""

    jobs: list[dict[str, Any]]
    next_href: str | None

    def to_wire(self) -> dict[str, Any]:
        """The ``jobs-response`` body, as ``JobsResponse(...).to_wire()`` writes it."""
        links = {"next": {"href": self.next_href}} if self.next_href else {}
        return {"jobs": self.jobs, "_links": links}


def list_jobs(backend: Backend, caller: Caller, query: JobsQuery, base_url: str) -> Page:
    """Answer ``GET /jobs`` for ``caller`` with a parsed query."""
    top, expr = query.top, query.expr
    if expr is not None:
        for cmp in odata.comparisons(expr):
            unknown = [v for v in cmp.values if not backend.is_itwin(v.text)]
            if cmp.prop == "iTwinId" and cmp.op in ("eq", "in") and unknown:
                raise problems.itwin_not_found()
    mentions_itwin = expr is not None and any(c.prop == "iTwinId" for c in odata.comparisons(expr))
    email = None if mentions_itwin else caller.email
    rows = backend.store.jobs(email=email, after_seq=query.after)
    now = backend.clock.now_ms()
    # the filter prepared once per query, reading only the properties it names
    keep = None if expr is None else odata.predicate(expr, _readers(now))
    found: list[JobRow] = []
    for row in rows:
        if keep is None or keep(row):
            found.append(row)
            if len(found) > top:
                break
    more = len(found) > top
    page = found[:top]
    href = None
    if more:
        params = [("$filter", query.filter_text)] if query.has_filter else []
        token = write_token(page[-1].seq, query.scope)
        params += [("$top", str(top)), ("continuationToken", token)]
        href = f"{base_url}/jobs?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    # bodies, not models: a page of a thousand jobs would otherwise be validated and dumped
    render = WireRenderer(now)
    return Page([render(r) for r in page], href)


def _readers(now_ms: int) -> Callable[[str], Callable[[JobRow], Any]]:
    """How each filterable property of a stored job is read at ``now_ms`` (as Record holds it)."""

    def state(row: JobRow) -> str:
        return snapshot(row.schedule, now_ms).state.value

    def output_ids(row: JobRow) -> tuple[str, ...]:
        return tuple(o["id"] for o in row.doc["jobSettings"].get("outputs", []) if o.get("id"))

    readers: dict[str, Callable[[JobRow], Any]] = {
        "id": lambda row: row.id,
        "iTwinId": lambda row: row.itwin_id,
        "name": lambda row: row.doc["name"],
        "email": lambda row: row.email,
        "type": lambda row: row.doc["type"],
        "state": state,
        "createdDateTime": lambda row: to_datetime(row.created_ms),
        "inputId": lambda row: tuple(i["id"] for i in row.doc["inputs"]),
        "outputId": output_ids,
    }
    return readers.__getitem__
