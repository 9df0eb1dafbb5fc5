"""Request bodies from the network to wire models: every limit on a body is checked here, once.

The routes call these and hand typed values (``JobCreation``, ``JobPatch``, ``WorkspaceCreation``)
to the backend, which never sees bytes or raw JSON. A body that cannot be read answers 422 in the
API's shape with one ``InvalidParameter`` detail that names the problem (and the limit):

- not UTF-8, not JSON, not a JSON object;
- arrays and objects nested deeper than ``MAX_DEPTH`` (the JSON reader recurses: a deep body
  would otherwise overflow its stack);
- an integer outside ``MAX_INTEGER`` (Python refuses to read integers of more than 4300 digits,
  and SQLite stores at most 64 bits; no field of the API needs more than 2**53);
- a string holding a lone surrogate (``"\\ud800"`` is valid JSON but not Unicode text).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, TypeVar

from pydantic import ValidationError

from rmapply.emulator.problems import Detail, Problem, invalid_request
from rmapply.wire import WireModel
from rmapply.wire.paths import field_path

M = TypeVar("M", bound=WireModel)

INVALID_PARAMETER = "InvalidParameter"
MAX_DEPTH = 32  # the API's bodies nest 4 levels; room for growth, far below the stack's limit
MAX_INTEGER = 2**53 - 1  # the largest integer every JSON reader keeps exactly (RFC 7493)
_MAX_INTEGER_DIGITS = len(str(MAX_INTEGER))
# A string, or an unterminated one to the end of the text: each match consumes all it scans, so
# the scan stays linear whatever the input (no retries from inside a long unterminated string).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class BodyError(ValueError):
    """A body that cannot be read; the message is the detail a client sees."""

    def __init__(self, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.target = target


@dataclass(frozen=True)
class JobCreationHints:
    """What the business rules can check on a create body whose schema is wrong."""

    workspace_id: str | None
    processing_engines: int | None


def read_json(raw: bytes) -> Any:
    """The JSON value of a body (None when empty), within the limits above; else BodyError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(
            f"The request body is not UTF-8: {exc.reason} at byte {exc.start}."
        ) from None
    if not text.strip():
        return None
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise BodyError(
            f"The request body nests arrays and objects {depth} levels deep; "
            f"at most {MAX_DEPTH} are allowed."
        )
    try:
        value = json.loads(text, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise BodyError(f"The request body is not valid JSON: {exc}.") from None
    _check_strings(value)
    return value


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON text, counted without parsing it (no recursion)."""
    # Brackets inside strings do not count; what is left is only brackets, summed as +1/-1.
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _integer(text: str) -> int:
    # Checked on the digits, before int() is asked to read them.
    if len(text.lstrip("-")) > _MAX_INTEGER_DIGITS or abs(int(text)) > MAX_INTEGER:
        shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} digits)"
        raise BodyError(
            f"The request body holds the number {shown}, outside the range of integers "
            f"(-{MAX_INTEGER} to {MAX_INTEGER})."
        )
    return int(text)


def _check_strings(value: Any) -> None:
    """Every key and string must be Unicode text: no lone surrogates (walked without recursion)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, (*path, key))
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, i), child) for i, child in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, path)


def _check_text(text: str, path: tuple[str | int, ...]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = field_path(_printable(p) for p in path) or None
        code = f"\\u{ord(text[exc.start]):04x}"
        raise BodyError(
            f"The request body holds a lone surrogate ({code}) in a string; "
            "strings must be Unicode text.",
            where,
        ) from None


def _printable(part: str | int) -> str | int:
    if isinstance(part, int):
        return part
    return part.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")


def parse_body(model: type[M], raw: bytes, refusal: str) -> M:
    """Read a body into ``model``; 422 (``refusal`` as message) with every problem as a detail."""
    return parse_value(model, read_value(raw, refusal), refusal)


def read_value(raw: bytes, refusal: str) -> Any:
    """The JSON value of a body, or the API's 422 with ``refusal`` as message."""
    try:
        return read_json(raw)
    except BodyError as exc:
        raise invalid_request(refusal, [Detail(INVALID_PARAMETER, str(exc), exc.target)]) from None


def parse_value(model: type[M], data: Any, refusal: str) -> M:
    """A JSON value (already read within the limits) as ``model``; else the API's 422."""
    if not isinstance(data, dict):
        detail = Detail(INVALID_PARAMETER, "The request body must be a JSON object.")
        raise invalid_request(refusal, [detail])
    try:
        return model.from_wire(data)
    except ValidationError as exc:
        raise invalid_request(refusal, details_of(exc)) from exc


def creation_hints(data: Any) -> JobCreationHints:
    """The workspace id and engines of a create body, where they have the right type."""
    if not isinstance(data, dict):
        return JobCreationHints(None, None)
    workspace_id = data.get("workspaceId")
    settings = data.get("settings")
    engines = settings.get("processingEngines") if isinstance(settings, dict) else None
    return JobCreationHints(
        workspace_id if isinstance(workspace_id, str) else None,
        engines if isinstance(engines, int) and not isinstance(engines, bool) else None,
    )


def details_of(exc: ValidationError) -> list[Detail]:
    """One InvalidParameter detail per pydantic error, in the API's wording."""
    details: list[Detail] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        target = field_path(loc)
        name = _parameter_name(loc)
        kind = error["type"]
        if kind == "missing":
            message = f"Missing '{name}' parameter."
        elif kind == "extra_forbidden":
            message = f"Unknown '{name}' parameter."
        else:
            message = f"Invalid '{name}' parameter."
        if (target, message) not in seen:
            seen.add((target, message))
            details.append(Detail(INVALID_PARAMETER, message, target or None))
    return details


def _parameter_name(loc: tuple[int | str, ...]) -> str:
    for part in reversed(loc):
        if isinstance(part, str):
            return part
    return "body"


__all__ = [
    "MAX_DEPTH",
    "MAX_INTEGER",
    "BodyError",
    "JobCreationHints",
    "Problem",
    "creation_hints",
    "details_of",
    "nesting_depth",
    "parse_body",
    "parse_value",
    "read_json",
    "read_value",
]
