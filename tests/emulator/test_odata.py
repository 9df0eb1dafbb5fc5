"""The $filter parser against a reference evaluator: generated filters, naive Python evaluation."""

from __future__ import annotations

import contextlib
import operator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmapply.emulator import odata

GUIDS = [
    "9e2d27cf-b695-47e9-b7f0-0d47dc3b88ad",
    "482b2968-6a85-4e50-b05c-8acbf828c1bd",
    "14c03448-bea0-4d76-b53b-4b20bd3f4cbc",
    "dc720f05-e5f7-448b-ae06-765de46f0af1",
]
NAMES = ["a", "b", "B", "it's", "site a", "z"]
EMAILS = ["ann@example.com", "BOB@example.com"]
TYPES = ["Full", "Calibration", "Reconstruction"]
STATES = ["unsubmitted", "active", "success", "failed", "cancelled"]
BASE = datetime(2024, 6, 24, 13, 0, tzinfo=UTC)
TIMES = [BASE + timedelta(minutes=m) for m in (0, 1, 30)]
CASE_FOLDED = {"id", "iTwinId", "inputId", "outputId", "email", "type", "state"}
MULTI = {"inputId", "outputId"}


@dataclass(frozen=True)
class Cmp:
    """A generated comparison: property, operator, literal values as (kind, python value)."""

    prop: str
    op: str
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Bool:
    op: str
    left: Any
    right: Any


records = st.builds(
    odata.Record,
    id=st.sampled_from(GUIDS),
    iTwinId=st.one_of(st.none(), st.sampled_from(GUIDS)),
    name=st.sampled_from(NAMES),
    email=st.sampled_from(EMAILS),
    type=st.sampled_from(TYPES),
    state=st.sampled_from(STATES),
    createdDateTime=st.sampled_from(TIMES),
    inputId=st.lists(st.sampled_from(GUIDS), max_size=3).map(tuple),
    outputId=st.lists(st.sampled_from(GUIDS), max_size=2).map(tuple),
)


def _literal(prop: str) -> st.SearchStrategy[tuple[str, Any]]:
    if prop == "createdDateTime":
        return st.sampled_from(TIMES).map(lambda t: ("datetime", t))
    if prop in ("id", "iTwinId", "inputId", "outputId"):
        return st.one_of(
            st.sampled_from(GUIDS).map(lambda g: ("guid", g)),
            st.sampled_from(GUIDS).map(lambda g: ("string", g.upper())),
        )
    pool = {"name": NAMES, "email": [*EMAILS, "ann@EXAMPLE.com"], "type": [*TYPES, "full"]}
    return st.sampled_from(pool.get(prop, [*STATES, "ACTIVE"])).map(lambda s: ("string", s))


@st.composite
def comparisons(draw: st.DrawFn) -> Cmp:
    prop = draw(st.sampled_from(odata.PROPERTIES))
    op = draw(st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge", "in"]))
    count = draw(st.integers(1, 3)) if op == "in" else 1
    values = tuple(draw(_literal(prop)) for _ in range(count))
    return Cmp(prop, op, values)


expressions = st.recursive(
    comparisons(),
    lambda inner: st.builds(Bool, st.sampled_from(["and", "or"]), inner, inner),
    max_leaves=6,
)


def _render_literal(kind: str, value: Any) -> str:
    if kind == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "guid":
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _render(expr: Any, draw: st.DrawFn) -> str:
    """Text of a generated expression, with random keyword case and redundant parentheses."""
    if isinstance(expr, Cmp):
        op = draw(st.sampled_from([expr.op, expr.op.upper()]))
        prop = draw(st.sampled_from([expr.prop, expr.prop.lower()]))
        if expr.op == "in":
            body = ", ".join(_render_literal(k, v) for k, v in expr.values)
            text = f"{prop} {op} ({body})"
        else:
            text = f"{prop} {op} {_render_literal(*expr.values[0])}"
    else:
        left, right = _render(expr.left, draw), _render(expr.right, draw)
        # 'and' binds tighter than 'or': an 'or' below an 'and' must be parenthesised.
        if expr.op == "and":
            if isinstance(expr.left, Bool) and expr.left.op == "or":
                left = f"({left})"
            if isinstance(expr.right, Bool) and expr.right.op == "or":
                right = f"({right})"
        elif isinstance(expr.right, Bool):
            right = f"({right})"  # keep left-to-right grouping explicit
        text = f"{left} {draw(st.sampled_from([expr.op, expr.op.upper()]))} {right}"
    return f"({text})" if draw(st.booleans()) and draw(st.booleans()) else text


def _reference(expr: Any, record: odata.Record) -> bool:
    """The naive meaning of a generated expression on one record."""
    if isinstance(expr, Bool):
        if expr.op == "and":
            return _reference(expr.left, record) and _reference(expr.right, record)
        return _reference(expr.left, record) or _reference(expr.right, record)
    raw = getattr(record, expr.prop)
    have = list(raw) if expr.prop in MULTI else ([] if raw is None else [raw])
    want = [v for _, v in expr.values]
    if expr.prop in CASE_FOLDED:
        have = [h.lower() for h in have]
        want = [w.lower() for w in want]
    if expr.op == "ne":
        return want[0] not in have
    if expr.op == "in":
        return any(h in want for h in have)
    compare = {
        "eq": lambda a, b: a == b,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
    }[expr.op]
    return any(compare(h, want[0]) for h in have)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), expr=expressions, rows=st.lists(records, min_size=1, max_size=6))
def test_parsed_filters_select_what_the_reference_evaluator_selects(
    data: st.DataObject, expr: Any, rows: list[odata.Record]
) -> None:
    text = _render(expr, data.draw)
    parsed = odata.parse(text)
    expected = [_reference(expr, r) for r in rows]
    assert [odata.matches(parsed, r) for r in rows] == expected
    # the form a listing evaluates: prepared once, reading the properties it names
    keep = odata.predicate(parsed, operator.attrgetter)
    assert [keep(r) for r in rows] == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_either_parses_or_raises_filter_error(text: str) -> None:
    with contextlib.suppress(odata.FilterError):
        odata.parse(text)


def test_the_spec_examples_parse() -> None:
    for text in (
        "iTwinId eq dc720f05-e5f7-448b-ae06-765de46f0af1",
        "inputId in ('482b2968-6a85-4e50-b05c-8acbf828c1bd', "
        "'14c03448-bea0-4d76-b53b-4b20bd3f4cbc')",
        "id eq 9e2d27cf-b695-47e9-b7f0-0d47dc3b88ad",
        "createdDateTime gt 2024-06-24T13:00:00Z",
        "createdDateTime gt 2020-09-14T14:29:55.0000000+00:00",
    ):
        odata.parse(text)


def test_and_binds_tighter_than_or() -> None:
    parsed = odata.parse("name eq 'a' or name eq 'b' and state eq 'x'")
    assert isinstance(parsed, odata.Junction)
    assert parsed.op == "or"


@pytest.mark.parametrize("text", ["", "   ", "()", "name eq", "name in ()", "name in ('a',)"])
def test_incomplete_filters_are_refused(text: str) -> None:
    with pytest.raises(odata.FilterError):
        odata.parse(text)
