"""Which StateStore holds a project's state: the one place that names a backend's class.

Plan, refresh and apply see only the StateStore protocol (rmapply/state/store.py); a new backend
is its own module, a value of ``[state] backend`` and a branch here (docs/architecture.md,
"State backends"), and it passes the contract suite of tests/state/contract.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from rmapply.config import StateSection
from rmapply.errors import ConfigError, StateError
from rmapply.state.store import RESTORE_COMMAND, LocalStateStore, StateStore

ENV_STATE_URL = "RMAPPLY_STATE_URL"
MARKER_SUFFIX = ".migrated"  # beside a local state moved into a database: never fork it


def marker_path(state_path: Path) -> Path:
    """The marker left where a local state was moved away by ``state migrate``."""
    return state_path.with_name(state_path.name + MARKER_SUFFIX)


def state_url(section: StateSection, environ: Mapping[str, str] | None = None) -> str:
    """The database URL: RMAPPLY_STATE_URL, else ``[state] url`` (ConfigError if neither)."""
    env = os.environ if environ is None else environ
    url = env.get(ENV_STATE_URL, "").strip() or section.url
    if not url:
        raise ConfigError(
            'rmapply.toml: [state] backend = "postgres" needs a database URL',
            hint=f'set [state] url = "postgresql://USER@HOST:5432/DB" or {ENV_STATE_URL}',
        )
    return url


def refuse_migrated(path: Path) -> None:
    """StateError when the local state at ``path`` was moved into a database."""
    marker = marker_path(path)
    if path.exists() or not marker.exists():
        return
    try:
        where = marker.read_text(encoding="utf-8").strip()
    except OSError:
        where = "a database"
    raise StateError(
        f"state file {path} was moved to {where} by 'rmapply state migrate'",
        hint='set [state] backend = "postgres" with that url and key in rmapply.toml (or '
        f"{ENV_STATE_URL}) to use it; a new local state here would fork the state",
    )


def open_state_store(
    section: StateSection,
    directory: Path,
    *,
    local_file: Path | None = None,
    ignore_previous_state: bool = False,
    restore_command: str = RESTORE_COMMAND,
    environ: Mapping[str, str] | None = None,
) -> StateStore:
    """The store ``[state]`` of the project in ``directory`` names.

    ``local_file``: a local state file there whatever ``[state] backend`` says (``--local``
    rehearsals keep their own state). ``ignore_previous_state``: start empty beside traces of
    an earlier state; ``restore_command``: the restore command as the user should type it.
    """
    if local_file is not None:
        return LocalStateStore(
            local_file,
            keep_versions=section.versions,
            ignore_previous_state=ignore_previous_state,
            restore_command=restore_command,
        )
    if section.backend == "postgres":
        from rmapply.state.postgres import PostgresStateStore  # lazily: it loads the driver

        assert section.key is not None  # the config refuses postgres without a key
        return PostgresStateStore(
            state_url(section, environ),
            section.key,
            schema=section.schema_,
            keep_versions=section.versions,
        )
    refuse_migrated(directory / section.path)
    return LocalStateStore(
        directory / section.path,
        keep_versions=section.versions,
        ignore_previous_state=ignore_previous_state,
        restore_command=restore_command,
    )
