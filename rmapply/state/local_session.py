"""The writer's session on a local state file (made by ``LocalStateStore.lock``).

Apart from rmapply.state.store so that a command that only reads the state never imports the
session, the journal's writer or the records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rmapply import __version__
from rmapply.errors import StateError
from rmapply.state.atomic import remove_durably, remove_leftovers
from rmapply.state.document import STATE_FORMAT_VERSION, StateDocument
from rmapply.state.journal import read_journal
from rmapply.state.journal_writer import Journal
from rmapply.state.session import JournalledSession
from rmapply.state.statefile import read_state, write_state
from rmapply.state.store import _fold

if TYPE_CHECKING:
    from rmapply.state.store import LocalStateStore


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class LocalStateSession(JournalledSession):
    """The writer's session on a LocalStateStore (made by ``LocalStateStore.lock``)."""

    def __init__(self, store: LocalStateStore, *, guard: Callable[[], None] | None = None) -> None:
        self._store = store
        self._guard = guard  # raises when the lock file was deleted or replaced under us
        remove_leftovers(store.path)
        document = read_state(store.path)
        self._file_serial = document.serial if document is not None else 0
        self._signature = _signature(store.path)
        contents = read_journal(store.journal_path)
        replayed = contents is not None and contents.header is not None and contents.entries
        if contents is not None and contents.header is not None:
            document = _fold(store.path, document, contents)
        self._journal = Journal(store.journal_path, document or StateDocument(), guard=guard)
        self._dirty = False
        if replayed:
            self._dirty = True
            self.checkpoint()
        elif contents is not None:
            remove_durably(store.journal_path)  # empty, or only a torn header: nothing to keep

    def replace(self, document: StateDocument) -> None:
        """Write ``document`` as serial + 1; if the write fails, closing tries it again."""
        with self._journal.lock:
            self._journal.document = document
            self._dirty = True
            self._write()

    def _write(self) -> None:
        # its own order, not the shared one: the file replaced is kept before the serial moves
        path = self._store.path
        if self._guard is not None:
            self._guard()  # a writer that lost its lock leaves the state file to the new holder
        if _signature(path) != self._signature:
            raise StateError(
                f"state file {path} was changed by another program during this command; "
                "it was not overwritten",
                hint="run the command again: it reads the changed file and replays "
                f"{self._store.journal_path}, where the calls this command recorded are kept",
            )
        # the command's first write keeps the file it replaces among the dated versions
        moment, created = datetime.now(UTC), self._signature is None
        self._store.keep_current_version(self._file_serial, moment)
        document = self.document
        document.serial += 1
        document.rmapply_version = __version__
        document.version = STATE_FORMAT_VERSION  # an older format is written back as the current
        try:
            write_state(path, document)
        finally:
            # a Ctrl-C (KeyboardInterrupt) may land after the rename: the file is this document
            # then, and is booked as such, else the next write took it for another program's
            if _signature(path) == self._signature:
                document.serial -= 1  # not replaced: the file is as it was
            else:
                self._file_serial = document.serial
                self._signature = _signature(path)
        if created:  # deleting a state that was just made must not pass for a new project
            self._store.keep_current_version(document.serial, moment, created=True)
        self._dirty = False
        self._journal.rebase(document.serial)
