"""State in memory: the second backend behind the StateStore protocol (tests, rehearsals).

A :class:`MemoryState` is one place where a state lives; several :class:`MemoryStateStore` on it
are several commands on one state, taking its lock in turn. It keeps what the file backend keeps,
in the same encodings: the document as the state file's bytes (a reader gets its own copy, and a
corrupt or newer document is refused the same way), the journal as the journal file's JSON lines
(records of a dead holder are replayed by the next load), the kept versions and the lock holder.
A checkpoint replaces the document and the journal in one step, as a database transaction would.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from rmapply.errors import StateError, StateLockedError
from rmapply.state.document import StateDocument
from rmapply.state.journal import _line
from rmapply.state.journal_parse import JournalContents, parse_journal
from rmapply.state.lock import LockHolder
from rmapply.state.records import JournalEntry, JournalHeader
from rmapply.state.restore import Restored
from rmapply.state.session import (
    JournalledSession,
    SessionJournal,
    close_leaving,
    restore_kept_version,
)
from rmapply.state.statefile import decode_state, encode_state
from rmapply.state.store import (
    DEFAULT_KEPT_VERSIONS,
    StateStore,
    _fold,
)
from rmapply.state.traces import StateTraces
from rmapply.state.versions import StateVersion


class MemoryState:
    """One state in memory: document, journal, kept versions and lock (shared by its stores)."""

    def __init__(self, name: str = "state") -> None:
        self.location = f"memory:{name}"
        self.changed = threading.Condition()  # guards every field below; notified on release
        self.document: bytes | None = None  # as the state file would hold it
        self.revision = 0  # + 1 on every write: a writer that read an older one is refused
        self.journal = b""  # as the journal file would hold it
        self.kept: list[tuple[StateVersion, bytes]] = []
        self.holder: LockHolder | None = None
        self.hold = 0  # + 1 on every acquire and loss: a session from an older hold is refused

    def plant(self, data: bytes) -> None:
        """Put ``data`` in place of the document, as another program would (tests)."""
        with self.changed:
            self.document = data
            self.revision += 1

    def holder_died(self) -> None:
        """The lock holder is gone without ending its session (its process was killed): the
        lock is free, its journal stays for the next command to replay."""
        with self.changed:
            self.holder = None
            self.hold += 1
            self.changed.notify_all()

    def check_held(self, hold: int) -> None:
        """StateError unless the lock is still held as ``hold``."""
        with self.changed:
            if self.holder is None or self.hold != hold:
                raise StateError(
                    f"the lock of state {self.location} was lost during this command; "
                    "stopped before writing anything more",
                    hint="run the command again: it replays what this command recorded",
                )

    def read(self) -> tuple[StateDocument | None, JournalContents | None, int]:
        """The document, the journal and the revision, as of one moment."""
        with self.changed:
            data, journal, revision = self.document, self.journal, self.revision
        path = Path(self.location)
        document = None if data is None else decode_state(path, data)
        return document, (parse_journal(path, journal) if journal else None), revision


class MemoryJournal(SessionJournal):
    """The journal of a memory session: each record is appended to the state's journal bytes."""

    def __init__(self, state: MemoryState, document: StateDocument, hold: int) -> None:
        super().__init__(Path(state.location), document, guard=lambda: state.check_held(hold))
        self._state = state

    def _append(self, record: JournalEntry) -> None:
        self._check_ours()
        with self._state.changed:
            if not self._state.journal:
                self._state.journal = _line(self._header(self.document.serial, record.at))
            self._state.journal += _line(record)
        self._written += 1


class MemoryStateStore:
    """A StateStore on a :class:`MemoryState`; one store serves one command, like the file's."""

    def __init__(
        self, state: MemoryState | None = None, *, keep_versions: int = DEFAULT_KEPT_VERSIONS
    ) -> None:
        self.state = state if state is not None else MemoryState()
        self.keep_versions = keep_versions
        self.version_kept = False  # set by the command's first write

    @property
    def location(self) -> str:
        """``memory:NAME``."""
        return self.state.location

    def exists(self) -> bool:
        """True when a document or a journal with records exists."""
        document, journal, _ = self.state.read()
        return document is not None or (journal is not None and bool(journal.entries))

    def load(self) -> StateDocument:
        """The document with a leftover journal replayed in memory; nothing is written."""
        document, journal, _ = self.state.read()
        if journal is None or journal.header is None:
            return document if document is not None else StateDocument()
        return _fold(Path(self.location), document, journal)

    def lock(self, command: str, timeout: float = 0.0) -> _MemoryLock:
        """Become the one writer, or StateLockedError naming the holder (after ``timeout``)."""
        return _MemoryLock(self, command, timeout)

    def find_traces(self) -> StateTraces:
        """The document's condition; a memory state is never lost apart from its versions."""
        with self.state.changed:
            present = self.state.document is not None
        return StateTraces(Path(self.location), "present" if present else "missing")

    def check_traces(self) -> None:
        """Nothing to check: the document cannot go missing beside its versions."""

    def versions(self) -> list[StateVersion]:
        """The kept versions, oldest first."""
        with self.state.changed:
            return [version for version, _ in self.state.kept]

    def restore(
        self,
        version: str | None = None,
        *,
        command: str = "state restore",
        timeout: float = 0.0,
        allow_other_lineage: bool = False,
    ) -> Restored:
        """Under the lock, write ``version`` (default: the newest) back as a new serial."""
        return restore_kept_version(
            self,
            version,
            command=command,
            timeout=timeout,
            allow_other_lineage=allow_other_lineage,
        )

    def version_data(self, name: str) -> bytes:
        """The bytes of the kept version ``name``."""
        with self.state.changed:
            return dict((v.name, d) for v, d in self.state.kept)[name]

    def keep(self, data: bytes, document: StateDocument, moment: datetime) -> None:
        """Keep ``data`` (``document`` encoded) as a version; call holding ``state.changed``."""
        if self.state.kept and self.state.kept[-1][1] == data:
            return  # kept already (a new state is kept right after it is first written)
        stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-serial-{document.serial}"
        while any(v.name == name for v, _ in self.state.kept):
            name += "-again"
        path = Path(self.location) / name
        version = StateVersion(
            name, path, moment, document.serial, document.lineage, len(document.resources)
        )
        self.state.kept.append((version, data))
        del self.state.kept[: -self.keep_versions]


class _MemoryLock:
    """``store.lock(...)``: a context manager (no generator: a session dropped unclosed, as by
    a killed process, must never checkpoint when it is collected)."""

    def __init__(self, store: MemoryStateStore, command: str, timeout: float) -> None:
        self.store, self.command, self.timeout = store, command, timeout
        self.session: MemoryStateSession | None = None

    def __enter__(self) -> MemoryStateSession:
        state = self.store.state
        deadline = time.monotonic() + self.timeout
        with state.changed:
            while state.holder is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    waited = f"; gave up after waiting {self.timeout:g} s" if self.timeout else ""
                    raise StateLockedError(
                        f"state {state.location} is locked by {state.holder.describe()}{waited}",
                        holder=state.holder.to_dict(),
                        hint="wait for that command to finish, or let this one wait with "
                        "--lock-timeout SECONDS",
                    )
                state.changed.wait(remaining)
            state.holder = LockHolder.current(self.command)
            state.hold += 1
            hold = state.hold
        try:
            self.session = MemoryStateSession(self.store, hold)
        except BaseException:
            self._release(hold)
            raise
        return self.session

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.session is not None
        try:
            close_leaving(self.session, exc)
        finally:
            self._release(self.session.hold)

    def _release(self, hold: int) -> None:
        state = self.store.state
        with state.changed:
            if state.hold == hold and state.holder is not None:
                state.holder = None
                state.changed.notify_all()


class MemoryStateSession(JournalledSession):
    """The writer's session on a MemoryStateStore (made by ``MemoryStateStore.lock``)."""

    def __init__(self, store: MemoryStateStore, hold: int) -> None:
        self._store, self.hold = store, hold
        document, journal, self._revision = store.state.read()
        replayed = journal is not None and journal.header is not None and bool(journal.entries)
        if journal is not None and journal.header is not None:
            document = _fold(Path(store.location), document, journal)
        self._journal = MemoryJournal(store.state, document or StateDocument(), hold)
        self._dirty = replayed
        if replayed:
            self.checkpoint()

    def _check_held(self) -> None:
        self._store.state.check_held(self.hold)

    def _commit(self, document: StateDocument) -> None:
        state, store = self._store.state, self._store
        data = encode_state(document)
        open_intents = list(self._journal.open_intents.values())
        moment = datetime.now(UTC)
        with state.changed:
            if state.revision != self._revision:
                raise StateError(
                    f"state {state.location} was changed by another program during this "
                    "command; it was not overwritten",
                    hint="run the command again: it reads the changed state and replays the "
                    "calls this command recorded",
                )
            # the command's first write keeps the document it replaces among the versions
            previous = state.document
            if not store.version_kept and previous is not None:
                store.keep(previous, decode_state(Path(state.location), previous), moment)
            state.document = data
            state.revision += 1
            self._revision = state.revision
            journal = b""
            if open_intents:  # carried into the fresh journal, as the file journal does
                header = JournalHeader(
                    lineage=document.lineage, base_serial=document.serial, created_at=moment
                )
                journal = _line(header) + b"".join(_line(r) for r in open_intents)
            state.journal = journal
            if previous is None:  # a state just made leaves a version at once
                store.keep(data, document, moment)
            store.version_kept = True


def _memory_store_is_a_state_store(store: MemoryStateStore) -> StateStore:
    return store  # mypy proves here that the memory backend implements the interface
