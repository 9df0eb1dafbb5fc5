"""The writer's journal: records intents and results, appended and fsynced line by line.

Apart from rmapply.state.journal (which reads journals) so that a command that only reads the
state never imports the records' writer, the lock's file identity or the replay.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rmapply.errors import StateError
from rmapply.state.atomic import (
    FILE_MODE,
    fsync_directory,
    remove_durably,
    replace_atomically,
    write_all,
)
from rmapply.state.document import PendingOperation, ResourceRecord, StateDocument
from rmapply.state.journal import _line
from rmapply.state.lock import identity_at, identity_of
from rmapply.state.records import (
    IntentRecord,
    JournalEntry,
    JournalHeader,
    Outcome,
    ResolveRecord,
    ResultRecord,
)
from rmapply.state.replay import apply_resolve, apply_result

_sync = getattr(os, "fdatasync", os.fsync)  # data and size are enough: the name was synced once


def _same_file(fd: int, path: Path) -> bool:
    """True when ``path`` names the open file ``fd`` (False once it was deleted or replaced)."""
    ours = identity_of(fd)
    return ours is not None and ours == identity_at(path)


def _moment(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


class Journal:
    """The writer's journal: records intents and results and keeps ``document`` up to date.

    Thread-safe: apply's workers may record concurrently. A call returns once its line is on
    disk; that is the moment the record is acknowledged. ``guard`` (the state lock's check) is
    called before and after each line: a writer that lost its lock must not send the call.
    """

    def __init__(
        self, path: Path, document: StateDocument, guard: Callable[[], None] | None = None
    ) -> None:
        self.path = path
        self.document = document
        self.lock = threading.RLock()
        self._guard = guard
        self._lost: StateError | None = None  # once the file or the lock is lost, for good
        self._fd: int | None = None
        self._size = 0
        self._next_seq = 1
        self._open: dict[int, IntentRecord] = {}
        self._written = 0  # records since the last checkpoint
        self._unsaved = False  # the document changed since the state file was last written
        self._closed = False

    @property
    def open_intents(self) -> dict[int, IntentRecord]:
        """Intents recorded whose result is not (yet) recorded, by seq."""
        with self.lock:
            return dict(self._open)

    @property
    def records_since_checkpoint(self) -> int:
        """How many records the journal holds since the state file was last written."""
        return self._written

    @property
    def unsaved(self) -> bool:
        """True when ``document`` changed since the state file was last written."""
        return self._unsaved

    def intent(
        self,
        address: str,
        action: str,
        *,
        request_digest: str = "",
        details: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Record that a changing call is about to be sent; returns its seq for ``result``."""
        with self.lock:
            self._check_open()
            record = IntentRecord(
                seq=self._next_seq,
                address=address,
                action=action,
                request_digest=request_digest,
                details=dict(details or {}),
                at=_moment(now),
            )
            self._append(record)
            self._next_seq += 1
            self._open[record.seq] = record
            return record.seq

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
        """Record the call's outcome and apply its change to ``document`` (remove, then upsert)."""
        with self.lock:
            self._check_open()
            intent = self._open.get(seq)
            if intent is None:
                raise ValueError(f"journal result for seq {seq}, which is not an open intent")
            record = ResultRecord(
                seq=seq,
                outcome=outcome,
                upsert=upsert,
                remove=remove,
                pending=pending,
                error=error,
                at=_moment(now),
            )
            del self._open[seq]
            # the call happened: the document learns it even if the line cannot be written, so
            # the state file written at the end of the session may still keep it
            apply_result(self.document, intent, record)
            self._unsaved = True
            self._append(record)

    def resolve(
        self,
        address: str,
        *,
        upsert: ResourceRecord | None = None,
        remove: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Settle the pending operation at ``address`` (adopt: ``upsert``; dropped: nothing)."""
        with self.lock:
            self._check_open()
            record = ResolveRecord(address=address, upsert=upsert, remove=remove, at=_moment(now))
            apply_resolve(self.document, record)
            self._unsaved = True
            self._append(record)

    def rebase(self, base_serial: int, *, now: datetime | None = None) -> None:
        """After the state file was written at ``base_serial``: start over, keeping open intents.

        Open intents are carried into a fresh journal (written aside, then renamed over the old
        one), so that a crash at any moment still finds each of them in some journal.
        """
        with self.lock:
            self._close_fd()
            self._written = 0
            self._unsaved = False
            try:
                if not self._open:
                    remove_durably(self.path)
                    return
                header = self._header(base_serial, now)
                data = _line(header) + b"".join(_line(r) for r in self._open.values())
                replace_atomically(self.path, data)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
                self._size = len(data)
            except OSError as exc:
                raise StateError(
                    f"cannot start the journal {self.path} over: {exc.strerror or exc}",
                    hint="the state file was written; the journal still holds what it held, and "
                    "the next command replays it (nothing is lost)",
                ) from exc

    def abandon_open_intents(self) -> list[IntentRecord]:
        """Make each open intent a pending operation in ``document`` (its outcome is unknown)."""
        with self.lock:
            abandoned = list(self._open.values())
            for intent in abandoned:
                self.document.pending[intent.address] = intent.as_pending()
            self._open.clear()
            return abandoned

    def close(self) -> None:
        """Stop recording; later calls fail."""
        with self.lock:
            self._close_fd()
            self._closed = True

    def _header(self, base_serial: int, now: datetime | None) -> JournalHeader:
        return JournalHeader(
            lineage=self.document.lineage, base_serial=base_serial, created_at=_moment(now)
        )

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _start(self, now: datetime) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL
        fd = os.open(self.path, flags, FILE_MODE)
        header = _line(self._header(self.document.serial, now))
        try:
            write_all(fd, header)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        fsync_directory(self.path.parent)  # the new name must survive a crash too
        self._fd, self._size = fd, len(header)
        return fd

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"journal {self.path} is closed: the state session has ended")

    def _check_ours(self) -> None:
        """Raise (now and for good) unless we still hold the lock and the journal at the path
        is the file we have open: never write into a file someone deleted or replaced."""
        if self._lost is not None:
            raise self._lost
        try:
            if self._guard is not None:
                self._guard()
            if self._fd is not None and not _same_file(self._fd, self.path):
                raise StateError(
                    f"journal {self.path} was deleted or replaced by another program while "
                    "this command was writing it; stopped before sending anything more",
                    hint="never delete or move the journal while rmapply runs (it holds the "
                    "calls not yet in the state file); let any other rmapply on this state "
                    "finish, then run the command again (docs/state.md#journal)",
                )
        except StateError as exc:
            self._lost = exc
            raise

    def _append(self, record: JournalEntry) -> None:
        self._check_ours()
        line = _line(record)
        try:
            fd = self._fd if self._fd is not None else self._start(record.at)
            try:
                write_all(fd, line)
                _sync(fd)
            except OSError:
                # never leave half a line that a later record would turn into a corrupt middle
                os.ftruncate(fd, self._size)
                raise
        except OSError as exc:
            raise StateError(
                f"cannot write journal {self.path}: {exc.strerror or exc}",
                hint="check free disk space and the folder's permissions; a call whose result "
                "could not be recorded counts as of unknown outcome (docs/state.md#journal)",
            ) from exc
        self._size += len(line)
        self._written += 1
        # again once the line is on disk: whoever took the lock after this check reads the
        # journal after it too, so it sees this line; whoever took it before is caught here
        self._check_ours()
