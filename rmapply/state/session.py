"""The writer's session common to every state backend: a document kept current by a journal.

A :class:`JournalledSession` holds the document, the journal apply records into and the rules
for writing (checkpoint only when something changed, never replace while calls are in flight,
open intents become pending operations at close). A backend says only how it writes and how it
makes sure it still holds the lock (``_check_held``, ``_commit``; the local file, which keeps the
file it replaces before the serial moves, writes its own way in ``_write``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from rmapply import __version__
from rmapply.errors import StateError
from rmapply.state.document import STATE_FORMAT_VERSION, StateDocument
from rmapply.state.journal_writer import Journal
from rmapply.state.restore import Restored, _check_lineage, choose
from rmapply.state.statefile import decode_state
from rmapply.state.traces import StateTraces
from rmapply.state.versions import StateVersion


def refuse_lineage_change(document: StateDocument, journal: Journal, lineage: str) -> None:
    """ValueError when ``document`` may not take ``lineage``: it was written (serial > 0) or
    the journal already holds records under its present lineage."""
    if lineage == document.lineage:
        return
    if document.serial > 0 or journal.records_since_checkpoint or journal.open_intents:
        raise ValueError(
            f"cannot hand lineage {lineage} over to state of lineage {document.lineage}: "
            "it was written or has records already"
        )


class SessionJournal(Journal):
    """A journal its session starts over itself, in the same step as it writes the document."""

    def rebase(self, base_serial: int, *, now: datetime | None = None) -> None:
        """Count afresh (the session already replaced the journal with the document)."""
        with self.lock:
            self._written = 0
            self._unsaved = False


class JournalledSession:
    """A writer's session: the document, its journal, and when and what to write."""

    _journal: Journal
    _dirty: bool  # the document changed beyond what the journal holds (replayed, abandoned)

    @property
    def document(self) -> StateDocument:
        """The state as of now."""
        return self._journal.document

    @property
    def journal(self) -> Journal:
        """Where apply records intents and results."""
        return self._journal

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """The journal's re-entrant lock (it guards ``document`` too)."""
        return self._journal.lock

    def adopt_lineage(self, lineage: str) -> None:
        """Carry ``lineage`` from now on; refused once written or recorded under another one."""
        with self._journal.lock:
            refuse_lineage_change(self.document, self._journal, lineage)
            self.document.lineage = lineage

    def checkpoint(self) -> None:
        """Write the document (serial + 1) and start the journal over; no-op if unchanged."""
        with self._journal.lock:
            if self._dirty or self._journal.unsaved:
                self._write()

    def save(self, document: StateDocument) -> None:
        """Replace the whole document and write it (serial continues from the current one)."""
        with self._journal.lock:
            if self._journal.open_intents:
                raise ValueError("cannot replace the state while calls are in flight")
            if document.lineage != self.document.lineage:
                raise ValueError("cannot replace the state with a document of another lineage")
            document.serial = self.document.serial
            self.replace(document)

    def replace(self, document: StateDocument) -> None:
        """Write ``document`` as serial + 1, whatever its lineage (``restore``, ``migrate``)."""
        with self._journal.lock:
            self._journal.document = document
            self._write()

    def close(self) -> None:
        """End the session: open intents become pending operations, then a last checkpoint."""
        with self._journal.lock:
            if self._journal.abandon_open_intents():
                self._dirty = True
            try:
                if self._can_write():
                    self.checkpoint()
            finally:
                self._journal.close()

    def _can_write(self) -> bool:
        """False when a last checkpoint cannot be tried at all (the lock is known gone)."""
        return True

    def _write(self) -> None:
        """Write the document as serial + 1 (undone if the write fails); start the journal over."""
        self._check_held()
        document = self.document
        document.serial += 1
        document.rmapply_version = __version__
        document.version = STATE_FORMAT_VERSION  # an older format is written back as the current
        try:
            self._commit(document)
        except BaseException:
            document.serial -= 1
            raise
        self._dirty = False
        self._journal.rebase(document.serial)

    def _check_held(self) -> None:
        """StateError unless this session still holds the lock (a backend's own check)."""
        raise NotImplementedError

    def _commit(self, document: StateDocument) -> None:
        """Write ``document`` and start the journal over, in one step (a backend's own way)."""
        raise NotImplementedError


def close_leaving(session: JournalledSession, exc: BaseException | None) -> None:
    """Close ``session`` as its lock is left; a failure to save is raised, or, when leaving on
    the error ``exc``, noted on it (the first error stays the one the user sees)."""
    try:
        session.close()
    except StateError as close_error:
        if exc is None:
            raise
        exc.add_note(f"then saving the state failed too: {close_error}")


class _KeepingStore(Protocol):
    @property
    def location(self) -> str: ...

    def exists(self) -> bool: ...

    def lock(self, command: str, timeout: float = 0.0) -> AbstractContextManager[Any]: ...

    def versions(self) -> list[StateVersion]: ...

    def version_data(self, name: str) -> bytes: ...


def restore_kept_version(
    store: _KeepingStore,
    wanted: str | None,
    *,
    command: str,
    timeout: float,
    allow_other_lineage: bool,
) -> Restored:
    """Under ``store``'s lock, write kept version ``wanted`` (default: the newest) back as a new
    serial; for stores whose versions are all kept beside the document (memory, PostgreSQL)."""
    kept = tuple(store.versions())
    chosen = choose(StateTraces(Path(store.location), "present", kept=kept), wanted)
    assert chosen is not None  # these stores have no journal that could be restored alone
    name = chosen.name
    document = decode_state(Path(store.location), store.version_data(name))
    source_serial = document.serial
    with store.lock(command, timeout) as session:
        current = session.document
        reference = current.lineage if store.exists() else None
        _check_lineage(name, document, reference, allow_other_lineage)
        serials = [v.serial for v in kept if v.serial is not None]
        document.serial = max([current.serial, *serials])
        session.replace(document)
    return Restored(
        source=name,
        source_serial=source_serial,
        serial=document.serial,
        lineage=document.lineage,
        resources=len(document.resources),
        pending=len(document.pending),
        replayed=0,
        kept=None,
        journal_set_aside=None,
        gap=None,
    )
