"""The state store: an interface, and a local file (state, journal, lock) as its first backend."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from rmapply import __version__
from rmapply.errors import StateCorruptError, StateError
from rmapply.state.atomic import remove_durably, remove_leftovers
from rmapply.state.document import PendingOperation, ResourceRecord, StateDocument
from rmapply.state.journal import Journal, JournalContents, journal_path, read_journal
from rmapply.state.lock import StateLock
from rmapply.state.records import IntentRecord, Outcome
from rmapply.state.replay import replay
from rmapply.state.statefile import read_state, write_state

_READ_ATTEMPTS = 3  # a reader racing a checkpoint reads again; three tries always suffice


class JournalWriter(Protocol):
    """Records each changing call: ``intent`` before it, ``result`` after it."""

    @property
    def open_intents(self) -> dict[int, IntentRecord]:
        """Intents whose result is not recorded yet."""
        ...

    @property
    def records_since_checkpoint(self) -> int:
        """Records written since the state file was last rewritten."""
        ...

    def intent(
        self,
        address: str,
        action: str,
        *,
        request_digest: str = "",
        details: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Record an intent; returns its seq."""
        ...

    def result(
        self,
        seq: int,
        *,
        upsert: ResourceRecord | None = None,
        remove: str | None = None,
        pending: PendingOperation | None = None,
        outcome: Outcome = "ok",
        error: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Record the result of intent ``seq``."""
        ...

    def resolve(
        self,
        address: str,
        *,
        upsert: ResourceRecord | None = None,
        remove: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Settle the pending operation at ``address``."""
        ...


class StateSession(Protocol):
    """An exclusive writer's view of the state, kept current as results are recorded."""

    @property
    def document(self) -> StateDocument:
        """The state as of now (loaded, journal replayed, results recorded so far)."""
        ...

    @property
    def journal(self) -> JournalWriter:
        """Where intents and results are recorded."""
        ...

    def checkpoint(self) -> None:
        """Rewrite the state file from state + journal and start the journal over."""
        ...

    def save(self, document: StateDocument) -> None:
        """Replace the whole document (state rm/mv, refresh) and write it."""
        ...


class StateStore(Protocol):
    """Where state lives; the planner and apply see only this."""

    @property
    def location(self) -> str:
        """Where the state is, for messages (a path or a URL)."""
        ...

    def exists(self) -> bool:
        """True when there is any state (a state file or a journal)."""
        ...

    def load(self) -> StateDocument:
        """The state for reading: a leftover journal is replayed in memory; nothing is written."""
        ...

    def lock(self, command: str, timeout: float = 0.0) -> AbstractContextManager[StateSession]:
        """Become the one writer, or raise StateLockedError naming the holder."""
        ...


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _check_lineage(path: Path, document: StateDocument, contents: JournalContents) -> None:
    assert contents.header is not None
    if contents.header.lineage != document.lineage:
        raise StateCorruptError(
            f"journal {contents.path} belongs to another state (lineage "
            f"{contents.header.lineage}); state file {path} has lineage {document.lineage}",
            hint="neither file was changed; if that other state is gone, move the journal "
            "aside (the changes it holds are then forgotten; see docs/state.md#recovery)",
        )


def _fold(path: Path, document: StateDocument | None, contents: JournalContents) -> StateDocument:
    """The state file's document with the journal replayed onto it."""
    assert contents.header is not None
    if document is None:
        document = StateDocument(lineage=contents.header.lineage)
    _check_lineage(path, document, contents)
    folded = contents.header.base_serial < document.serial
    return replay(document, contents.entries, results_folded=folded)


class LocalStateStore:
    """State in a local JSON file, with ``.journal``, ``.backup``, ``.lock`` beside it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.journal_path = journal_path(self.path)

    @property
    def location(self) -> str:
        """The state file's path."""
        return str(self.path)

    def exists(self) -> bool:
        """True when a state file or a journal with records exists."""
        if self.path.exists():
            return True
        contents = read_journal(self.journal_path)
        return contents is not None and bool(contents.entries)

    def load(self) -> StateDocument:
        """Read state + journal without the lock; an empty new document when there is none."""
        for attempt in range(1, _READ_ATTEMPTS + 1):
            document = read_state(self.path)
            contents = read_journal(self.journal_path)
            if contents is None or contents.header is None:
                return document if document is not None else StateDocument()
            serial = document.serial if document is not None else 0
            # a journal newer than the file read just before it: a checkpoint ran in between
            if contents.header.base_serial > serial and attempt < _READ_ATTEMPTS:
                continue
            return _fold(self.path, document, contents)
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def lock(
        self, command: str, timeout: float = 0.0, *, now: datetime | None = None
    ) -> Iterator[LocalStateSession]:
        """Hold the lock for one command; leaving checkpoints if anything changed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create the folder of state file {self.path}: {exc.strerror or exc}",
                hint="check the path and the permissions of its parent folder",
            ) from exc
        state_lock = StateLock(self.path)
        state_lock.acquire(command, timeout=timeout, now=now)
        try:
            session = LocalStateSession(self, guard=state_lock.check_held)
            try:
                yield session
            except BaseException as exc:
                try:
                    session.close()
                except StateError as close_error:
                    exc.add_note(f"then saving the state failed too: {close_error}")
                raise
            session.close()
        finally:
            state_lock.release()


class LocalStateSession:
    """The writer's session on a LocalStateStore (made by ``LocalStateStore.lock``)."""

    def __init__(self, store: LocalStateStore, *, guard: Callable[[], None] | None = None) -> None:
        self._store = store
        self._guard = guard  # raises when the lock file was deleted or replaced under us
        remove_leftovers(store.path)
        document = read_state(store.path)
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

    @property
    def document(self) -> StateDocument:
        """The state as of now."""
        return self._journal.document

    @property
    def journal(self) -> Journal:
        """Where apply records intents and results."""
        return self._journal

    def checkpoint(self) -> None:
        """Rewrite the state file (serial + 1) and start the journal over; no-op if unchanged."""
        with self._journal.lock:
            if not (self._dirty or self._journal.unsaved):
                return
            self._write()

    def save(self, document: StateDocument) -> None:
        """Replace the whole document and write it (serial continues from the current one)."""
        with self._journal.lock:
            if self._journal.open_intents:
                raise ValueError("cannot replace the state while calls are in flight")
            if document.lineage != self.document.lineage:
                raise ValueError("cannot replace the state with a document of another lineage")
            document.serial = self.document.serial
            self._journal.document = document
            self._dirty = True
            self._write()

    def close(self) -> None:
        """End the session: open intents become pending operations, then a last checkpoint."""
        with self._journal.lock:
            if self._journal.abandon_open_intents():
                self._dirty = True
            try:
                self.checkpoint()
            finally:
                self._journal.close()

    def _write(self) -> None:
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
        document = self.document
        document.serial += 1
        document.rmapply_version = __version__
        try:
            write_state(path, document)
        except BaseException:
            document.serial -= 1
            raise
        self._signature = _signature(path)
        self._dirty = False
        self._journal.rebase(document.serial)


def _local_store_is_a_state_store(store: LocalStateStore) -> StateStore:
    return store  # mypy proves here that the local backend implements the interface
