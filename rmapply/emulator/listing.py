"""``GET /jobs``: scope (the caller's jobs, or an iTwin's), ``$filter``, ``$top`` and paging."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from rmapply.emulator import odata, problems
from rmapply.emulator.backend import Backend, Caller, to_datetime
from rmapply.emulator.lifecycle import snapshot
from rmapply.emulator.problems import Detail
from rmapply.emulator.storage import JobRow
from rmapply.wire import Job

DEFAULT_TOP = 100
MAX_TOP = 1000
TOP_MESSAGE = "The $top query parameter value must be a positive integer that does not exceed 1000."


@dataclass(frozen=True)
class Page:
    """One page of jobs and the link to the next page, if there is one."""

    jobs: list[Job]
    next_href: str | None


def list_jobs(backend: Backend, caller: Caller, query: Mapping[str, str], base_url: str) -> Page:
    """Answer ``GET /jobs`` for ``caller`` with the given query parameters."""
    top = _top(query.get("$top"))
    text = query.get("$filter", "")
    expr = _filter(text)
    scope = _scope(text, caller.email)
    after = _after(query.get("continuationToken"), scope) if "continuationToken" in query else 0
    if expr is not None:
        for cmp in odata.comparisons(expr):
            unknown = [v for v in cmp.values if not backend.is_itwin(v.text)]
            if cmp.prop == "iTwinId" and cmp.op in ("eq", "in") and unknown:
                raise problems.itwin_not_found()
    mentions_itwin = expr is not None and any(c.prop == "iTwinId" for c in odata.comparisons(expr))
    rows = backend.store.jobs(email=None if mentions_itwin else caller.email, after_seq=after)
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
        params = [("$filter", text)] if "$filter" in query else []
        params += [("$top", str(top)), ("continuationToken", _token(page[-1].seq, scope))]
        href = f"{base_url}/jobs?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return Page([backend.render_job(r, now) for r in page], href)


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


def _top(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_TOP
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_TOP:
        raise problems.invalid_listing([Detail("InvalidParameter", TOP_MESSAGE, "$Top")])
    return value


def _filter(text: str) -> odata.Expr | None:
    if not text.strip():
        return None
    try:
        return odata.parse(text)
    except odata.FilterError as exc:
        raise problems.invalid_listing(
            [Detail("InvalidParameter", f"Invalid $filter: {exc}.", "$filter")]
        ) from None


def _scope(text: str, email: str) -> str:
    """What a continuation token is bound to: the filter and the caller."""
    return hashlib.sha256(f"{email}\n{text}".encode()).hexdigest()[:16]


def _token(seq: int, scope: str) -> str:
    raw = json.dumps({"after": seq, "scope": scope}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(token: str | None, scope: str) -> int:
    invalid = problems.invalid_listing(
        [
            Detail(
                "InvalidParameter",
                "The continuationToken is not valid for this query; copy it from _links.next.",
                "continuationToken",
            )
        ]
    )
    try:
        padded = (token or "") + "=" * (-len(token or "") % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, bound = int(data["after"]), str(data["scope"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise invalid from None
    if bound != scope or after < 0:
        raise invalid
    return after
