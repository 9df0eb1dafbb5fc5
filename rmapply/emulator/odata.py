"""The ``$filter`` language of ``GET /jobs``: a tokenizer, a recursive-descent parser, an evaluator.

Grammar (``and`` binds tighter than ``or``; keywords and property names are case-insensitive)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := primary ("and" primary)*
    primary    := "(" expr ")" | PROPERTY OP value | PROPERTY "in" "(" value ("," value)* ")"
    OP         := eq | ne | lt | le | gt | ge
    value      := 'quoted string' ('' escapes a quote) | unquoted GUID | unquoted date-time

Limits (each broken one is a FilterError naming it): ``MAX_LENGTH`` characters, ``MAX_COMPARISONS``
comparisons, ``MAX_VALUES`` values in all ``in`` lists together, parentheses nested at most
``MAX_NESTING`` deep. They keep the parser's recursion and the evaluation's cost bounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar, Union

T = TypeVar("T")

GUID_PROPERTIES = ("id", "iTwinId", "inputId", "outputId")
TEXT_PROPERTIES = ("name", "email", "type", "state")
DATE_PROPERTIES = ("createdDateTime",)
PROPERTIES = GUID_PROPERTIES + TEXT_PROPERTIES + DATE_PROPERTIES
MULTI_VALUED = frozenset({"inputId", "outputId"})
CASE_INSENSITIVE = frozenset({"id", "iTwinId", "inputId", "outputId", "email", "type", "state"})
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
MAX_LENGTH = 8000
MAX_COMPARISONS = 100
MAX_VALUES = 1000
MAX_NESTING = 32
_CANONICAL = {p.lower(): p for p in PROPERTIES}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?$")


class FilterError(ValueError):
    """A ``$filter`` that does not parse or does not type-check; the message says where."""


class Literal(NamedTuple):
    """A value in a filter: ``kind`` is "string", "guid" or "datetime"."""

    kind: str
    text: str

    def as_datetime(self) -> datetime:
        """The value as an aware datetime (naive values are taken as UTC)."""
        value = datetime.fromisoformat(_seven_to_six_digits(self.text))
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class Comparison(NamedTuple):
    """``property op value`` or ``property in (values)``."""

    prop: str
    op: str
    values: tuple[Literal, ...]


class Junction(NamedTuple):
    """``left and right`` or ``left or right``."""

    op: str
    left: Expr
    right: Expr


Expr = Union[Comparison, Junction]  # noqa: UP007 - a runtime alias used before its members exist


class Record(NamedTuple):
    """The filterable properties of one job."""

    id: str
    iTwinId: str | None  # noqa: N815 - spelled as the filter spells it
    name: str
    email: str
    type: str
    state: str
    createdDateTime: datetime  # noqa: N815
    inputId: tuple[str, ...]  # noqa: N815
    outputId: tuple[str, ...]  # noqa: N815


class _Token(NamedTuple):
    """A token of a filter's text."""

    kind: str  # "(" ")" "," "string" "word" "end"
    text: str
    pos: int


def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            yield _Token(ch, ch, i)
            i += 1
        elif ch == "'":
            start, i, chars = i, i + 1, []
            while True:
                if i >= n:
                    raise FilterError(f"unterminated string starting at position {start + 1}")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        chars.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                chars.append(text[i])
                i += 1
            yield _Token("string", "".join(chars), start)
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "(),'":
                i += 1
            yield _Token("word", text[start:i], start)
    yield _Token("end", "", n)


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = list(_tokens(text))
        self._i = 0
        self._depth = 0
        self._comparisons = 0
        self._values = 0

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _next(self) -> _Token:
        token = self._tokens[self._i]
        self._i = min(self._i + 1, len(self._tokens) - 1)
        return token

    def _keyword(self, *words: str) -> str | None:
        token = self._peek()
        if token.kind == "word" and token.text.lower() in words:
            self._next()
            return token.text.lower()
        return None

    def parse(self) -> Expr:
        expr = self._or()
        token = self._peek()
        if token.kind != "end":
            raise FilterError(f"unexpected {_show(token)}; expected 'and', 'or' or the end")
        return expr

    def _or(self) -> Expr:
        expr = self._and()
        while self._keyword("or"):
            expr = Junction("or", expr, self._and())
        return expr

    def _and(self) -> Expr:
        expr = self._primary()
        while self._keyword("and"):
            expr = Junction("and", expr, self._primary())
        return expr

    def _primary(self) -> Expr:
        token = self._next()
        if token.kind == "(":
            self._depth += 1
            if self._depth > MAX_NESTING:
                raise FilterError(
                    f"parentheses nested more than {MAX_NESTING} deep at position {token.pos + 1}"
                )
            expr = self._or()
            self._depth -= 1
            closing = self._next()
            if closing.kind != ")":
                raise FilterError(f"unexpected {_show(closing)}; expected ')'")
            return expr
        if token.kind != "word" or token.text.lower() not in _CANONICAL:
            raise FilterError(
                f"unexpected {_show(token)}; expected a property ({', '.join(PROPERTIES)}) or '('"
            )
        prop = _CANONICAL[token.text.lower()]
        self._comparisons += 1
        if self._comparisons > MAX_COMPARISONS:
            raise FilterError(
                f"more than {MAX_COMPARISONS} comparisons (the one at position {token.pos + 1} "
                "is one too many)"
            )
        op_token = self._next()
        op = op_token.text.lower() if op_token.kind == "word" else ""
        if op == "in":
            return Comparison(prop, "in", self._list(prop))
        if op not in COMPARISONS:
            raise FilterError(
                f"unexpected {_show(op_token)} after '{prop}'; expected one of "
                f"{', '.join(COMPARISONS)}, in"
            )
        return Comparison(prop, op, (self._value(prop),))

    def _list(self, prop: str) -> tuple[Literal, ...]:
        opening = self._next()
        if opening.kind != "(":
            raise FilterError(f"unexpected {_show(opening)} after 'in'; expected '('")
        values = [self._value(prop)]
        while True:
            token = self._next()
            if token.kind == ")":
                return tuple(values)
            if token.kind != ",":
                raise FilterError(f"unexpected {_show(token)} in a list; expected ',' or ')'")
            values.append(self._value(prop))

    def _value(self, prop: str) -> Literal:
        self._values += 1
        if self._values > MAX_VALUES:
            raise FilterError(f"more than {MAX_VALUES} values")
        token = self._next()
        if token.kind == "string":
            literal = Literal("string", token.text)
        elif token.kind == "word" and _GUID.match(token.text):
            literal = Literal("guid", token.text)
        elif token.kind == "word" and _DATETIME.match(token.text):
            literal = Literal("datetime", token.text)
        elif token.kind == "word" and token.text.lower() not in _CANONICAL:
            raise FilterError(
                f"unexpected {_show(token)}; string values are quoted: '{token.text}'"
            )
        else:
            raise FilterError(f"unexpected {_show(token)}; expected a value for '{prop}'")
        return _checked(prop, literal, token.pos)


def _checked(prop: str, literal: Literal, pos: int) -> Literal:
    where = f"at position {pos + 1}"
    if prop in DATE_PROPERTIES:
        if literal.kind == "guid":
            raise FilterError(f"'{prop}' is compared with a date-time, not a GUID ({where})")
        try:
            literal.as_datetime()
        except ValueError:
            raise FilterError(f"'{literal.text}' is not a date-time ({where})") from None
        return Literal("datetime", literal.text)
    if literal.kind == "datetime":
        raise FilterError(f"'{prop}' cannot be compared with a date-time ({where})")
    return literal


def _show(token: _Token) -> str:
    if token.kind == "end":
        return "end of filter"
    if token.kind == "string":
        return f"string '{token.text}' at position {token.pos + 1}"
    return f"'{token.text}' at position {token.pos + 1}"


def _seven_to_six_digits(text: str) -> str:
    # .NET writes 7 fractional digits; Python reads at most 6.
    return re.sub(r"(\.\d{6})\d+", r"\1", text)


def parse(text: str) -> Expr:
    """Parse a ``$filter``; FilterError says what is wrong and where."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"it is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    if not text.strip():
        raise FilterError("the filter is empty")
    return _Parser(text).parse()


def comparisons(expr: Expr) -> Iterator[Comparison]:
    """Every comparison of an expression, left to right."""
    if isinstance(expr, Comparison):
        yield expr
    else:
        yield from comparisons(expr.left)
        yield from comparisons(expr.right)


def matches(expr: Expr, record: Record) -> bool:
    """Evaluate an expression on one job's record."""
    if isinstance(expr, Junction):
        if expr.op == "and":
            return matches(expr.left, record) and matches(expr.right, record)
        return matches(expr.left, record) or matches(expr.right, record)
    return _compare(expr, record)


def _compare(cmp: Comparison, record: Record) -> bool:
    raw = getattr(record, cmp.prop)
    if cmp.prop in DATE_PROPERTIES:
        values: list[object] = [raw]
        literals: list[object] = [lit.as_datetime() for lit in cmp.values]
    else:
        items = list(raw) if cmp.prop in MULTI_VALUED else ([] if raw is None else [raw])
        fold = cmp.prop in CASE_INSENSITIVE
        values = [v.lower() if fold else v for v in items]
        literals = [lit.text.lower() if fold else lit.text for lit in cmp.values]
    if cmp.op == "ne":
        return not any(v == literals[0] for v in values)
    if cmp.op == "in":
        return any(v in literals for v in values)
    return any(_ORDER[cmp.op](v, literals[0]) for v in values)


def predicate(expr: Expr, read: Callable[[str], Callable[[T], Any]]) -> Callable[[T], bool]:
    """``matches(expr, ...)`` as one function of an item, the literals prepared once per query.

    ``read(prop)`` gives the function that reads a property of an item (as ``Record`` holds it):
    a listing then computes only the properties its filter names, not a whole Record per job.
    """
    if isinstance(expr, Junction):
        left, right = predicate(expr.left, read), predicate(expr.right, read)
        if expr.op == "and":
            return lambda item: left(item) and right(item)
        return lambda item: left(item) or right(item)
    return _comparison(expr, read(expr.prop))


def _comparison(cmp: Comparison, get: Callable[[T], Any]) -> Callable[[T], bool]:
    """``_compare(cmp, ...)`` of an item whose property ``get`` reads."""
    op = cmp.op
    if cmp.prop in DATE_PROPERTIES:
        literals: tuple[Any, ...] = tuple(lit.as_datetime() for lit in cmp.values)

        def values(item: T) -> list[Any]:
            return [get(item)]

    else:
        fold = cmp.prop in CASE_INSENSITIVE
        literals = tuple(lit.text.lower() if fold else lit.text for lit in cmp.values)
        multi = cmp.prop in MULTI_VALUED
        if not multi and op in ("eq", "ne"):
            return _single(get, fold, literals[0], op == "eq")

        def values(item: T) -> list[Any]:
            raw = get(item)
            items = list(raw) if multi else ([] if raw is None else [raw])
            return [v.lower() for v in items] if fold else items

    first = literals[0]
    if op == "ne":
        return lambda item: not any(v == first for v in values(item))
    if op == "in":
        return lambda item: any(v in literals for v in values(item))
    order = _ORDER[op]
    return lambda item: any(order(v, first) for v in values(item))


def _single(get: Callable[[T], Any], fold: bool, literal: str, eq: bool) -> Callable[[T], bool]:
    """``eq``/``ne`` of a single-valued text property (``iTwinId eq ...``, a refresh's filter)."""

    def equal(item: T) -> bool:
        raw = get(item)
        return raw is not None and (raw.lower() if fold else raw) == literal

    return equal if eq else lambda item: not equal(item)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
