"""Reading and writing the state file: fast parse, refusal of anything doubtful, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import from_json

from rmapply.errors import StateCorruptError, StateError, StateVersionError
from rmapply.gc_pause import freeze_for_good, gc_paused
from rmapply.state.atomic import read_if_present, replace_atomically
from rmapply.state.document import FRESH_JSON, STATE_FORMAT_VERSION, StateDocument

MAX_LISTED_PROBLEMS = 10
# above this many resources, the parsed document is moved out of the collector's sight (below)
FREEZE_ABOVE_RESOURCES = 1000
_KIND_PREFIX = {"job": "jobs.", "workspace": "workspaces."}


def backup_path(path: Path) -> Path:
    """Where the previous version of the state file is kept."""
    return path.with_name(path.name + ".backup")


def recovery_hint(path: Path) -> str:
    """What to do about a state file that cannot be used."""
    backup = backup_path(path)
    if backup.exists():
        return (
            f"the file was not changed; the previous version is kept in {backup}: if it reads "
            "well, bring it back with 'rmapply state restore backup' (the refused file is kept "
            "among the versions; see docs/state.md#recovery)"
        )
    return (
        f"the file was not changed and no backup ({backup}) exists; fix the file by hand "
        "or restore it from version control (see docs/state.md#recovery)"
    )


def encode_state(document: StateDocument) -> bytes:
    """The bytes of the state file: indented JSON with a final newline."""
    with gc_paused():
        return document.model_dump_json(indent=2).encode("utf-8") + b"\n"


def _format_location(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def _schema_problems(error: ValidationError) -> list[str]:
    return [
        f"{_format_location(problem['loc'])}: {problem['msg']}"
        for problem in error.errors(include_url=False)
    ]


def _refuse(path: Path, what: str, problems: list[str]) -> StateCorruptError:
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    lines = "".join(f"\n  {problem}" for problem in shown)
    if more:
        lines += f"\n  ... and {more} more"
    return StateCorruptError(f"state file {path} {what}{lines}", hint=recovery_hint(path))


def _newer_version(path: Path, version: int) -> StateVersionError:
    return StateVersionError(
        f"state file {path} has format version {version}, but this rmapply reads format "
        f"version {STATE_FORMAT_VERSION} at most",
        hint="upgrade rmapply to the version that wrote it; the file was not changed",
    )


def _diagnose(path: Path, data: bytes, error: ValidationError) -> StateError:
    """Say why ``data`` failed: not JSON, a newer format, or schema problems (all of them)."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        where = ""
        if isinstance(exc, json.JSONDecodeError):
            where = f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        return _refuse(path, f"is not valid JSON{where}", [])
    if not isinstance(raw, dict):
        return _refuse(path, "is not a JSON object", [])
    version = raw.get("version")
    if type(version) is int and version > STATE_FORMAT_VERSION:
        return _newer_version(path, version)
    return _refuse(path, "does not match the state format:", _schema_problems(error))


def _check_consistency(path: Path, document: StateDocument) -> None:
    """Keys match the addresses they hold and kinds match the address prefix."""
    problems: list[str] = []
    if document.version < 1:
        problems.append(f"version: {document.version} is not a state format version")
    for key, record in document.resources.items():
        if record.address != key:
            problems.append(f"resources.{key}.address: is {record.address!r}, expected {key!r}")
        if not key.startswith(_KIND_PREFIX[record.kind]):
            problems.append(
                f"resources.{key}.kind: a {record.kind} address must start with "
                f"{_KIND_PREFIX[record.kind]!r}"
            )
    for key, operation in document.pending.items():
        if operation.address != key:
            problems.append(f"pending.{key}.address: is {operation.address!r}, expected {key!r}")
    if problems:
        raise _refuse(path, "does not match the state format:", problems)


def decode_state(path: Path, data: bytes) -> StateDocument:
    """Parse the bytes of the state file at ``path``, or refuse them with a clear message."""
    if not data or data.isspace():  # (isspace scans without copying a large file)
        raise _refuse(path, "is empty", [])
    try:
        with gc_paused():
            document = _validated(data)
            if len(document.resources) > FREEZE_ABOVE_RESOURCES:
                # A big state is about a million objects that live as long as the command and
                # hold no cycles: frozen before the collector is back, they are never walked
                # (else the first collection after this walks them all: 0.09 s of a load of
                # 10,000 resources, and every later full collection again). Refcounting still
                # frees them when dropped; only cyclic garbage made before this point is kept.
                freeze_for_good()
    except ValidationError as exc:
        raise _diagnose(path, data, exc) from exc
    if document.version > STATE_FORMAT_VERSION:
        raise _newer_version(path, document.version)
    _check_consistency(path, document)
    return document


def _validated(data: bytes) -> StateDocument:
    """The document in ``data``; ValidationError (as pydantic's JSON mode words it) if not one.

    Parsing first and validating the Python objects is 12-20% faster than validating the
    JSON text (the spec and remote objects are built once, not through their validators); a
    document that fails either way is validated again as JSON, so that refusals keep their
    words and their locations. (FRESH_JSON: the parsed objects are handed over, not copied.)
    """
    try:
        return StateDocument.model_validate(from_json(data), context=FRESH_JSON)
    except ValueError:  # not JSON (from_json) or not a state document (ValidationError)
        return StateDocument.model_validate_json(data)


def read_state(path: Path) -> StateDocument | None:
    """The state document at ``path``, or None when the file does not exist."""
    data = read_if_present(path, "state file")
    return None if data is None else decode_state(path, data)


def write_state(path: Path, document: StateDocument) -> None:
    """Replace the state file atomically, keeping the version it replaces as the backup."""
    data = encode_state(document)
    try:
        replace_atomically(path, data, backup=backup_path(path))
    except OSError as exc:
        raise StateError(
            f"cannot write state file {path}: {exc.strerror or exc}",
            hint="the previous state file and its backup are intact; check free disk space and "
            "the folder's permissions, then run the command again",
        ) from exc
