"""The query of ``GET /jobs`` from the network to a typed value: ``$top``, ``$filter``, tokens.

Every limit on the query is checked here (the ``$filter`` language's own limits live in
``odata``); a query that breaks one answers the documented 422 ``InvalidRealityModelingRequest``
"Cannot find jobs." with an ``InvalidParameter`` detail naming the parameter and the limit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote

from rmapply.emulator import odata, problems
from rmapply.emulator.problems import Detail, Problem

DEFAULT_TOP = 100
MAX_TOP = 1000
TOP_MESSAGE = "The $top query parameter value must be a positive integer that does not exceed 1000."
MAX_TOKEN_LENGTH = 512  # the tokens the emulator writes are under 100 characters
MAX_SEQ = 2**53 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")  # int() would also read '١٢', ' 12 ' and '1_0'
TOKEN_MESSAGE = "The continuationToken is not valid for this query; copy it from _links.next."


class JobsQuery(NamedTuple):
    """A parsed ``GET /jobs`` query; ``after`` is the sequence number a continuation starts at."""

    top: int
    filter_text: str
    has_filter: bool
    expr: odata.Expr | None
    scope: str
    after: int


def query_values(raw_query: str) -> dict[str, str]:
    """The query's parameters (the last of repeated ones), leniently decoded (for other routes)."""
    return dict(parse_qsl(raw_query, keep_blank_values=True))


def jobs_query(raw_query: str, email: str) -> JobsQuery:
    """Parse the query of ``GET /jobs`` for the caller ``email``; 422 when a value is refused."""
    query = _strict_values(raw_query)
    top = read_top(query.get("$top"))
    text = query.get("$filter", "")
    expr = read_filter(text)
    scope = token_scope(text, email)
    token = query.get("continuationToken")
    after = read_token(token, scope) if token is not None else 0
    return JobsQuery(top, text, "$filter" in query, expr, scope, after)


def _strict_values(raw_query: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in raw_query.split("&"):
        try:
            values.update(parse_qsl(part, keep_blank_values=True, errors="strict"))
        except UnicodeDecodeError as exc:
            name = unquote(part.partition("=")[0], errors="replace")[:100]
            message = f"The value of {name} is not UTF-8 once percent-decoded ({exc.reason})."
            raise _refused(message, name) from None
    return values


def read_top(raw: str | None) -> int:
    """``$top``: ASCII digits only, 1 to 1000; default 100."""
    if raw is None:
        return DEFAULT_TOP
    value = int(raw) if _ASCII_DIGITS.fullmatch(raw) else 0
    if not 1 <= value <= MAX_TOP:
        raise problems.invalid_listing([Detail("InvalidParameter", TOP_MESSAGE, "$Top")])
    return value


def read_filter(text: str) -> odata.Expr | None:
    """The parsed ``$filter`` (None when empty); 422 naming what is wrong, or the limit broken."""
    if not text.strip():
        return None
    try:
        return odata.parse(text)
    except odata.FilterError as exc:
        raise _refused(f"Invalid $filter: {exc}.", "$filter") from None


def token_scope(text: str, email: str) -> str:
    """What a continuation token is bound to: the filter and the caller."""
    return hashlib.sha256(f"{email}\n{text}".encode("utf-8", "replace")).hexdigest()[:16]


def write_token(seq: int, scope: str) -> str:
    """The opaque continuation token that continues after the job numbered ``seq``."""
    raw = json.dumps({"after": seq, "scope": scope}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_token(token: str, scope: str) -> int:
    """The sequence number a token continues after; 422 for anything this emulator did not write."""
    # imported here: a first page (a refresh of up to a thousand jobs) reads no token
    from rmapply.emulator.request_body import BodyError, read_json

    if len(token) > MAX_TOKEN_LENGTH:
        raise _refused(TOKEN_MESSAGE, "continuationToken")
    try:
        padded = token + "=" * (-len(token) % 4)
        data = read_json(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, BodyError):
        raise _refused(TOKEN_MESSAGE, "continuationToken") from None
    after = data.get("after") if isinstance(data, dict) else None
    bound = data.get("scope") if isinstance(data, dict) else None
    valid = isinstance(after, int) and not isinstance(after, bool) and 0 <= after <= MAX_SEQ
    if not valid or bound != scope:
        raise _refused(TOKEN_MESSAGE, "continuationToken")
    assert isinstance(after, int)
    return after


def _refused(message: str, target: str | None) -> Problem:
    return problems.invalid_listing([Detail("InvalidParameter", message, target)])
