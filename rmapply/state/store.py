"""The state store: an interface, and a local file (state, journal, lock) as its first backend."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rmapply.errors import StateCorruptError, StateError
from rmapply.state.atomic import state_condition
from rmapply.state.document import StateDocument
from rmapply.state.journal import journal_path, read_journal
from rmapply.state.statefile import read_state

if TYPE_CHECKING:
    # a command that only reads the state (plan) never imports the lock, the writer's session,
    # the journal's records, restore or the kept versions: each is imported where it is used
    from rmapply.state.document import PendingOperation, ResourceRecord
    from rmapply.state.journal_parse import JournalContents
    from rmapply.state.local_session import LocalStateSession
    from rmapply.state.records import IntentRecord, Outcome
    from rmapply.state.restore import Restored
    from rmapply.state.traces import StateTraces
    from rmapply.state.versions import StateVersion

_READ_ATTEMPTS = 3  # a reader racing a checkpoint reads again; three tries always suffice
DEFAULT_KEPT_VERSIONS = 5
RESTORE_COMMAND = "rmapply state restore"


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
    """An exclusive writer's view of the state, kept current as results are recorded.

    Thread-safe: apply's workers record through ``journal`` at the same time; each record,
    ``checkpoint`` and ``save`` holds ``lock`` while it changes ``document``.
    """

    @property
    def document(self) -> StateDocument:
        """The state as of now (loaded, journal replayed, results recorded so far)."""
        ...

    @property
    def journal(self) -> JournalWriter:
        """Where intents and results are recorded."""
        ...

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """A re-entrant lock: while held, no other thread changes ``document`` or the journal
        (hold it to read a consistent document while workers record)."""
        ...

    def adopt_lineage(self, lineage: str) -> None:
        """Carry ``lineage`` from now on (a saved plan made from no state hands its own over,
        so that plan is stale once the state exists); ValueError once the state was written
        or anything was recorded under another lineage."""
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

    def find_traces(self) -> StateTraces:
        """The state's condition and, when it is missing or empty, the earlier traces."""
        ...

    def check_traces(self) -> None:
        """Raise StateTracesError when the state is missing or empty beside earlier traces
        (``load`` and ``lock`` check this themselves; unless the store ignores them)."""
        ...

    def versions(self) -> list[StateVersion]:
        """The earlier states that can be restored: kept versions (oldest first), the backup."""
        ...

    def restore(
        self,
        version: str | None = None,
        *,
        command: str = "state restore",
        timeout: float = 0.0,
        allow_other_lineage: bool = False,
    ) -> Restored:
        """Under the lock, write ``version`` (default: the newest) back as a new serial."""
        ...


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
    from rmapply.state.replay import replay  # only when there is a journal to replay

    folded = contents.header.base_serial < document.serial
    return replay(document, contents.entries, results_folded=folded)


class LocalStateStore:
    """State in a local JSON file, with ``.journal``, ``.backup``, ``.lock``, ``.versions/``;
    one store serves one command (it keeps a version before the command's first write)."""

    def __init__(
        self,
        path: Path | str,
        *,
        keep_versions: int = DEFAULT_KEPT_VERSIONS,
        ignore_previous_state: bool = False,
        restore_command: str = RESTORE_COMMAND,
    ) -> None:
        self.path = Path(path)
        self.journal_path = journal_path(self.path)
        self.keep_versions = keep_versions
        self.ignore_previous_state = ignore_previous_state  # start empty beside traces
        self.restore_command = restore_command  # as the user should type it (with -C DIR)
        self.version_kept = False  # set by the command's first write

    @property
    def location(self) -> str:
        """The state file's path."""
        return str(self.path)

    def exists(self) -> bool:
        """True when a state file or a journal with records exists (not when starting empty)."""
        if self._starts_empty():
            return False
        if self.path.exists():
            return True
        contents = read_journal(self.journal_path)
        return contents is not None and bool(contents.entries)

    def find_traces(self) -> StateTraces:
        """The state file's condition; traces are looked for only when it is missing or empty."""
        from rmapply.state.traces import traces_beside

        return traces_beside(self.path)

    def check_traces(self) -> None:
        """StateTracesError when the file is missing or empty beside traces (unless ignored)."""
        self._starts_empty()

    def versions(self) -> list[StateVersion]:
        """The kept versions (oldest first), then the backup if there is one."""
        from rmapply.state.versions import restorable_versions

        return restorable_versions(self.path)

    def restore(
        self,
        version: str | None = None,
        *,
        command: str = "state restore",
        timeout: float = 0.0,
        allow_other_lineage: bool = False,
        now: datetime | None = None,
    ) -> Restored:
        """Under the lock, write ``version`` back as serial = highest seen + 1, same lineage."""
        from rmapply.state.restore import restore_locked

        self._make_folder()
        return restore_locked(
            self.path,
            version,
            command=command,
            timeout=timeout,
            allow_other_lineage=allow_other_lineage,
            keep=self.keep_versions,
            now=now or datetime.now(UTC),
        )

    def _starts_empty(self) -> bool:
        """True when ignoring earlier traces; StateTracesError when they must not be ignored."""
        if state_condition(self.path) == "present":
            return False  # the usual case: one stat, and the traces are never looked for
        from rmapply.state.traces import starts_empty

        return starts_empty(self.path, self.ignore_previous_state, self.restore_command)

    def keep_current_version(self, serial: int, now: datetime, *, created: bool = False) -> None:
        """Keep the state file (at ``serial``) as a version before the command's first write,
        and right after a write that ``created`` it (a new state leaves a trace at once)."""
        if created or not self.version_kept:
            from rmapply.state.versions import keep_current

            keep_current(self.path, serial, now=now, keep=self.keep_versions)
            self.version_kept = True

    def _make_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create the folder of state file {self.path}: {exc.strerror or exc}",
                hint="check the path and the permissions of its parent folder",
            ) from exc

    def load(self) -> StateDocument:
        """Read state + journal without the lock; an empty new document when there is none."""
        if self._starts_empty():
            return StateDocument()
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
        from rmapply.state.local_session import LocalStateSession
        from rmapply.state.lock import StateLock
        from rmapply.state.session import close_leaving
        from rmapply.state.traces import set_traces_aside

        self._make_folder()
        state_lock = StateLock(self.path)
        state_lock.acquire(command, timeout=timeout, now=now)
        try:
            if self._starts_empty():
                set_traces_aside(self.path, now=now or datetime.now(UTC), keep=self.keep_versions)
            session = LocalStateSession(self, guard=state_lock.check_held)
            try:
                yield session
            except BaseException as exc:
                close_leaving(session, exc)
                raise
            session.close()
        finally:
            state_lock.release()


def _local_store_is_a_state_store(store: LocalStateStore) -> StateStore:
    return store  # mypy proves here that the local backend implements the interface
