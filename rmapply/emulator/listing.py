"""``GET /jobs``: scope (the caller's jobs, or an iTwin's), ``$filter``, ``$top`` and paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from rmapply.emulator import odata, problems
from rmapply.emulator.backend import Backend, Caller, render_job_wire, to_datetime
from rmapply.emulator.lifecycle import snapshot
from rmapply.emulator.request_query import JobsQuery, write_token
from rmapply.emulator.storage import JobRow


@dataclass(frozen=True)
class Page:
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
    found: list[JobRow] = []
    for row in rows:
        if expr is None or odata.matches(expr, record_of(row, now)):
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
    return Page([render_job_wire(r, now) for r in page], href)


def record_of(row: JobRow, now_ms: int) -> odata.Record:
    """The filterable properties of a stored job at ``now_ms``."""
    doc = row.doc
    return odata.Record(
        id=row.id,
        iTwinId=row.itwin_id,
        name=doc["name"],
        email=row.email,
        type=doc["type"],
        state=snapshot(row.schedule, now_ms).state.value,
        createdDateTime=to_datetime(row.created_ms),
        inputId=tuple(i["id"] for i in doc["inputs"]),
        outputId=tuple(o["id"] for o in doc["jobSettings"].get("outputs", []) if o.get("id")),
    )
