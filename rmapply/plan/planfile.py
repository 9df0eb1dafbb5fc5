"""The saved plan (``rmapply plan --out FILE``): the Plan plus what it was computed from."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from rmapply import __version__
from rmapply.errors import PlanError, StalePlanError
from rmapply.plan.actions import PlanValue
from rmapply.plan.result import Plan
from rmapply.state.document import StateDocument

PLANFILE_FORMAT_VERSION = 1


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


def dump_saved_plan(saved: SavedPlan) -> str:
    """The plan file's text: JSON with sorted keys, stable for the same plan."""
    return json.dumps(saved.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def parse_saved_plan(text: str, *, source: str = "plan file") -> SavedPlan:
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
    version = data.get("format_version")
    if not isinstance(version, int) or version > PLANFILE_FORMAT_VERSION:
        raise PlanError(
            f"{source}: plan file format {version!r} is newer than this rmapply understands"
            f" ({PLANFILE_FORMAT_VERSION})",
            hint="upgrade rmapply, or make the plan again with this version",
        )
    try:
        return SavedPlan.model_validate(data)
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
    if changed:
        raise StalePlanError(
            "the saved plan is stale:\n" + "\n".join(f"  {c}" for c in changed),
            hint="make a new plan with 'rmapply plan --out FILE' and review it again",
        )
