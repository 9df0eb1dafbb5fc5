"""``rmapply state init`` and ``state migrate``: start a state under a database key, move a
local state into the database (and its versions), or copy a database state back to a file.

Moving in copies first and sets the local file aside only once the copy is committed, leaving a
marker that names the URL and key, so a later run without the backend configured refuses
instead of forking the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rmapply.config import CONFIG_FILE, load_config
from rmapply.errors import ConfigError, StateError
from rmapply.state.backends import marker_path, open_state_store, state_url
from rmapply.state.document import StateDocument
from rmapply.state.pgschema import redact
from rmapply.state.postgres import PostgresStateStore
from rmapply.state.statefile import decode_state, read_state, write_state
from rmapply.state.store import LocalStateStore
from rmapply.state.versions import BACKUP, copy_in_version

MOVED_SUFFIX = ".migrated-copy"  # the local file once its state lives in the database


@dataclass(frozen=True)
class Migrated:
    """What a migration copied."""

    source: str
    destination: str
    serial: int
    lineage: str
    resources: int
    versions: int
    set_aside: Path | None = None


def database_store(directory: Path, key: str | None = None) -> PostgresStateStore:
    """The postgres store ``[state]`` names (``key`` overrides ``[state] key``)."""
    config = load_config(directory).require_file()
    section = config.state
    if section.backend != "postgres":
        raise ConfigError(
            f"{config.directory / CONFIG_FILE}: [state] backend is {section.backend!r}; this "
            'command works on backend = "postgres"',
            hint='set [state] backend = "postgres", url and key (docs/state.md#postgresql)',
        )
    if key is None:
        store = open_state_store(section, config.directory)
        assert isinstance(store, PostgresStateStore)
        return store
    return PostgresStateStore(
        state_url(section), key, schema=section.schema_, keep_versions=section.versions
    )


def init_state(store: PostgresStateStore) -> None:
    """Create an empty state under the store's key; StateError if the key holds one."""
    if not store.init():
        raise StateError(
            f"state {store.location} exists already; nothing was changed",
            hint="'rmapply state list' shows what it holds; pick another [state] key for a "
            "new state",
        )


def _refuse_other_lineage(target: str, there: StateDocument, document: StateDocument) -> None:
    if there.lineage != document.lineage:
        raise StateError(
            f"{target} holds another state (lineage {there.lineage}); this one has lineage "
            f"{document.lineage}: nothing was copied",
            hint="choose another key (--key) or file, or remove that state first",
        )
    if there.serial > document.serial:
        raise StateError(
            f"{target} holds a newer serial ({there.serial}) of this state than the one being "
            f"copied ({document.serial}): nothing was copied",
            hint="the destination is ahead; copy in the other direction, or restore a version",
        )


def migrate_to_database(
    local: LocalStateStore, store: PostgresStateStore, *, timeout: float = 0.0
) -> Migrated:
    """Copy the local state and its kept versions under ``store``'s key, then set the local
    file aside with a marker (only after the copy was committed)."""
    if not local.exists():
        raise StateError(
            f"no local state at {local.location} to migrate",
            hint="to start a new state in the database run 'rmapply state init'",
        )
    store.init()  # the key may exist already (empty, or this lineage's earlier copy)
    with local.lock("state migrate", timeout) as source:
        document = source.document.model_copy(deep=True)
        kept = [
            (v, v.path.read_bytes())
            for v in local.versions()
            if v.name != BACKUP and v.problem is None and v.path.exists()
        ]
        with store.lock("state migrate", timeout) as session:
            if store.exists():
                _refuse_other_lineage(store.location, session.document, document)
            store.import_versions(kept)
            serial = document.serial
            document.serial = max(serial, session.document.serial + 1) - 1  # written as serial
            session.replace(document)
        moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        marker = marker_path(local.path)
        marker.write_text(
            f"{redact(store.url)} key {store.key!r} schema {store.schema} (moved {moment})\n",
            encoding="utf-8",
        )
        aside = local.path.with_name(local.path.name + MOVED_SUFFIX)
        local.path.replace(aside)
    return Migrated(
        local.location,
        store.location,
        document.serial,
        document.lineage,
        len(document.resources),
        len(kept),
        aside,
    )


def copy_to_file(store: PostgresStateStore, path: Path, *, timeout: float = 0.0) -> Migrated:
    """Copy the database state and its kept versions to the local file ``path`` (refusing
    another lineage there); versions of the same name kept there already stay as they are."""
    local = LocalStateStore(path)
    with store.lock("state migrate", timeout) as session:
        document = session.document.model_copy(deep=True)
        if not store.exists():
            raise StateError(f"state {store.location} is empty: nothing to copy")
        with local.lock("state migrate", timeout):
            there = read_state(path)
            if there is not None:
                _refuse_other_lineage(str(path), there, document)
            kept = [(v.name, store.version_data(v.name)) for v in store.versions()]
            write_state(path, document)
            copied = sum(copy_in_version(path, name, data) for name, data in kept)
    marker_path(path).unlink(missing_ok=True)  # the file holds the state again
    decode_state(path, path.read_bytes())  # what was written reads back
    return Migrated(
        store.location,
        str(path),
        document.serial,
        document.lineage,
        len(document.resources),
        copied,
    )
