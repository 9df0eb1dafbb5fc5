"""The saved plan (``rmapply plan --out FILE``): the Plan plus what it was computed from, sealed
by a digest so that a file edited after it was written is refused (see docs/plan.md)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from rmapply import __version__
from rmapply.errors import PlanError, StalePlanError
from rmapply.plan.actions import PlanValue
from rmapply.plan.result import Plan
from rmapply.state.document import StateDocument

# 2: the file carries a seal and camelCase keys (the plan's formatVersion 2); an older file
# (format 1, or snake_case keys from before the plan spoke the API's dialect) is refused
PLANFILE_FORMAT_VERSION = 2
SEAL_KEY = "seal"


class SavedPlan(PlanValue):
    """A plan file: the plan and the state, manifests, variables and endpoint it assumed."""

    format: Literal["rmapply-plan"] = "rmapply-plan"
    format_version: int = PLANFILE_FORMAT_VERSION
    rmapply_version: str = __version__
    # the state the plan was computed from; when no state existed yet, `state_existed` is false
    # and `lineage` is the one the new state document was given (apply keeps it)
    lineage: str
    serial: int
    state_existed: bool
    manifest_digest: str
    vars_digest: str
    endpoint: str
    plan: Plan


def public_endpoint(endpoint: str) -> str:
    """The endpoint without user info, query or fragment: nothing secret reaches a plan file."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def saved_plan(
    plan: Plan,
    *,
    state: StateDocument,
    state_existed: bool,
    manifest_digest: str,
    vars_digest: str,
    endpoint: str,
) -> SavedPlan:
    """Wrap ``plan`` with the facts check_fresh compares at apply time."""
    return SavedPlan(
        lineage=state.lineage,
        serial=state.serial,
        state_existed=state_existed,
        manifest_digest=manifest_digest,
        vars_digest=vars_digest,
        endpoint=public_endpoint(endpoint),
        plan=plan,
    )


def plan_seal(data: dict[str, Any]) -> str:
    """``sha256:<hex>`` over the canonical JSON of a plan file's content without its seal.

    Canonical: sorted keys, no white space, ASCII escapes, so reformatting the file (indent, key
    order) keeps the seal while any changed, added or removed value breaks it.
    """
    content = {k: v for k, v in data.items() if k != SEAL_KEY}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def dump_saved_plan(saved: SavedPlan) -> str:
    """The plan file's text: JSON with sorted keys and its seal, stable for the same plan."""
    data = saved.model_dump(mode="json", by_alias=True)
    data[SEAL_KEY] = plan_seal(data)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _check_seal(data: dict[str, Any], source: str) -> None:
    """Refuse a plan file whose seal is missing or does not match its content."""
    again = "run 'rmapply plan --out FILE' again and review the new plan"
    seal = data.get(SEAL_KEY)
    if not isinstance(seal, str) or not seal:
        raise PlanError(
            f"plan file {source} has no seal (written by an older rmapply, or the seal was"
            " removed), so it cannot be checked for changes",
            hint=again,
        )
    if seal != plan_seal(data):
        raise PlanError(
            f"plan file {source} was changed after it was written (digest mismatch)",
            hint=f"{again}; a plan file is applied only exactly as 'rmapply plan' wrote it",
        )


def parse_saved_plan(text: str, *, source: str = "<plan text>") -> SavedPlan:
    """Parse a plan file's text; PlanError naming the file when it is not a usable plan."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(
            f"{source}: not a plan file (invalid JSON at line {exc.lineno}: {exc.msg})",
            hint="write a plan with 'rmapply plan --out FILE'",
        ) from exc
    if not isinstance(data, dict) or data.get("format") != "rmapply-plan":
        raise PlanError(
            f'{source}: not a plan file (no "format": "rmapply-plan")',
            hint="write a plan with 'rmapply plan --out FILE'",
        )
    # snake_case keys (format 1, or 2 before plans spoke camelCase): an older rmapply wrote it
    old = data.get("format_version")
    version = data.get("formatVersion", old)
    if not isinstance(version, int) or version > PLANFILE_FORMAT_VERSION:
        raise PlanError(
            f"{source}: plan file format {version!r} is newer than this rmapply understands"
            f" ({PLANFILE_FORMAT_VERSION})",
            hint="upgrade rmapply, or make the plan again with this version",
        )
    if old is not None or version < PLANFILE_FORMAT_VERSION:
        raise PlanError(
            f"{source}: plan file format {version!r} was written by an older rmapply; this one"
            f" reads format {PLANFILE_FORMAT_VERSION} (camelCase keys, sealed)",
            hint="plan again with 'rmapply plan --out FILE' and review the new plan",
        )
    _check_seal(data, source)
    content = {k: v for k, v in data.items() if k != SEAL_KEY}
    try:
        return SavedPlan.model_validate(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlanError(
            f"{source}: damaged plan file: {where}: {first['msg']}"
            f" ({exc.error_count()} problem(s))",
            hint="make the plan again with 'rmapply plan --out FILE'",
        ) from exc


def save_plan(path: Path, saved: SavedPlan) -> None:
    """Write the plan file atomically (a crash leaves the old file or the new one)."""
    import tempfile  # here, not at the top: start-up never needs it

    data = dump_saved_plan(saved).encode("utf-8")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(name, path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise PlanError(
            f"{path}: cannot write the plan file: {exc.strerror or exc}",
            hint="choose a writable place for --out",
        ) from exc


def load_plan(path: Path) -> SavedPlan:
    """Read a plan file written by save_plan."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PlanError(
            f"{path}: cannot read the plan file: {reason}",
            hint="pass the file written by 'rmapply plan --out FILE'",
        ) from exc
    return parse_saved_plan(text, source=str(path))


def check_fresh(
    saved: SavedPlan, state: StateDocument | None, manifest_digest: str, vars_digest: str
) -> None:
    """Raise StalePlanError naming everything that changed since the plan was made.

    ``state`` is the state now (None when there is no state file); a plan made before any
    state existed is fresh while the state is still absent or empty.
    """
    _raise_stale(_changes(saved, state, manifest_digest, vars_digest))


def check_saved_plan(
    saved: SavedPlan,
    state: StateDocument | None,
    *,
    manifest_digest: str,
    vars_digest: str,
    endpoint: str | None,
) -> str:
    """Refuse a saved plan that does not fit this apply; the lineage the state must carry.

    ``state`` is the state now (None when there is no state file); ``endpoint`` the URL apply
    talks to, or None for the embedded emulator of ``--local`` (its port changes every run).
    A plan made from no state hands its lineage over to the state apply writes, so that the
    plan (and any copy of it) is stale once that state exists.
    """
    changed = _changes(saved, state, manifest_digest, vars_digest)
    if endpoint is not None and public_endpoint(endpoint) != saved.endpoint:
        wrong = f"the saved plan was made against {saved.endpoint}, not {public_endpoint(endpoint)}"
        if not changed:
            raise PlanError(
                wrong, hint="apply it against the endpoint it was made for, or plan again"
            )
        changed.append(f"endpoint: {wrong}")  # every problem at once
    _raise_stale(changed)
    if state is None or not saved.state_existed:
        return saved.lineage
    return state.lineage


def _changes(
    saved: SavedPlan, state: StateDocument | None, manifest_digest: str, vars_digest: str
) -> list[str]:
    """What changed since the plan was made: one line per difference."""
    changed: list[str] = []
    if not saved.state_existed:
        if state is not None and (state.serial > 0 or state.resources or state.pending):
            changed.append(
                f"state: a state (lineage {state.lineage}, serial {state.serial}) was written"
                " since the plan was made from no state"
            )
    elif state is None:
        changed.append(f"state: the state (lineage {saved.lineage}) no longer exists")
    else:
        if state.lineage != saved.lineage:
            changed.append(f"lineage: the plan has {saved.lineage}, the state has {state.lineage}")
        if state.serial != saved.serial:
            changed.append(f"serial: the plan has {saved.serial}, the state has {state.serial}")
    if manifest_digest != saved.manifest_digest:
        changed.append("manifests: the rendered manifests differ from the planned ones")
    if vars_digest != saved.vars_digest:
        changed.append("variables: the variables differ from the planned ones")
    return changed


def _raise_stale(changed: list[str]) -> None:
    if changed:
        raise StalePlanError(
            "the saved plan is stale:\n" + "\n".join(f"  {c}" for c in changed),
            hint="make a new plan with 'rmapply plan --out FILE' and review it again",
        )
