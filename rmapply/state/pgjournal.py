"""The journal of a PostgreSQL session: records are rows, committed in groups.

A record is queued under the journal's lock; its caller then waits, without that lock, until a
commit holds it. The first waiter that finds no commit running writes every row queued so far
in one statement on the connection that holds the lock (one commit, one round trip), so workers
that record at the same moment share a commit instead of queueing for one each. A caller still
returns only once its record is committed: durable before the call it announces is sent.
A checkpoint folds the queued rows into the document it writes, in the same transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmapply.errors import StateError
from rmapply.state.document import PendingOperation, ResourceRecord
from rmapply.state.journal import _line
from rmapply.state.records import JournalEntry, Outcome
from rmapply.state.session import SessionJournal

if TYPE_CHECKING:
    from rmapply.state.document import StateDocument
    from rmapply.state.pgsession import PostgresStateSession


class PostgresJournal(SessionJournal):
    """Journal rows of one PostgreSQL session, each record committed before its caller goes on."""

    def __init__(self, session: PostgresStateSession, document: StateDocument) -> None:
        super().__init__(Path(session.store.location), document, guard=session.check_held)
        self._session = session
        # guards the queue and the counters; taken after the journal's lock and the
        # connection's, never before them
        self._commits = threading.Condition(threading.Lock())
        self._queue: list[tuple[int, bytes]] = []  # (serial the row extends, line), in order
        self._queued = 0  # records queued so far (a record's ticket is this count after it)
        self._committed = 0  # every ticket up to this one is committed
        self._committing = False  # a waiter is writing the queue right now
        self._failure: StateError | None = None  # a group commit failed: for good
        self._mine = threading.local()  # the ticket of this thread's last record

    def intent(
        self,
        address: str,
        action: str,
        *,
        request_digest: str = "",
        details: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Record that a changing call is about to be sent; returns once the row is committed."""
        seq = super().intent(
            address, action, request_digest=request_digest, details=details, now=now
        )
        try:
            self._wait_committed()
        except StateError:
            with self.lock:
                self._open.pop(seq, None)  # never sent: not a call in flight
            raise
        return seq

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
        """Record a call's outcome; returns once the row is committed."""
        super().result(
            seq,
            upsert=upsert,
            remove=remove,
            pending=pending,
            outcome=outcome,
            error=error,
            now=now,
        )
        self._wait_committed()

    def resolve(
        self,
        address: str,
        *,
        upsert: ResourceRecord | None = None,
        remove: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Settle a pending operation; returns once the row is committed."""
        super().resolve(address, upsert=upsert, remove=remove, now=now)
        self._wait_committed()

    @contextmanager
    def checkpointing(self) -> Iterator[None]:
        """Hold the connection for a checkpoint (under the journal's lock): the rows queued now
        are folded into the document it writes, so they count as committed once it commits,
        and stay queued if it fails."""
        with self._session.conn_lock:
            with self._commits:
                taken, last = self._queue, self._queued
                self._queue = []
            try:
                yield
            except BaseException:
                with self._commits:
                    self._queue = taken + self._queue
                raise
            with self._commits:
                self._committed = max(self._committed, last)
                self._commits.notify_all()

    def _append(self, record: JournalEntry) -> None:
        # under the journal's lock: queue the row (and the journal's header before a first one)
        self._check_ours()
        serial = self.document.serial  # the row extends this serial; a checkpoint moves it
        rows = [] if self._session.journal_started else [_line(self._header(serial, record.at))]
        rows.append(_line(record))
        with self._commits:
            self._queue.extend((serial, row) for row in rows)
            self._queued += 1
            self._mine.ticket = self._queued
        self._session.journal_started = True
        self._written += 1

    def _wait_committed(self) -> None:
        """Return once this thread's last record is committed; write the queue if no one is."""
        ticket: int = getattr(self._mine, "ticket", 0)
        while True:
            with self._commits:
                while self._committing and self._committed < ticket:
                    self._commits.wait()
                if self._committed >= ticket:
                    return
                if self._failure is not None:
                    raise self._failure
                self._committing = True
            self._commit_queue()

    def _commit_queue(self) -> None:
        """Write every queued row in one commit on the lock's connection (this thread leads)."""
        failure: StateError | None = None
        committed = 0
        try:
            with self._session.conn_lock:  # a checkpoint may take the queue before we do
                with self._commits:
                    batch, last = self._queue, self._queued
                    self._queue = []
                if batch:
                    self._session.insert_rows(batch)
                committed = last
        except StateError as exc:
            failure = exc
        except BaseException as exc:
            failure = StateError(
                f"writing the journal of state {self.path} was interrupted ({type(exc).__name__})",
                hint="run the command again: it replays what this command recorded",
            )
            raise
        finally:
            with self._commits:
                self._committing = False
                self._committed = max(self._committed, committed)
                if failure is not None:
                    self._failure = self._failure or failure
                    self._lost = self._lost or failure  # a writer whose rows failed stops
                self._commits.notify_all()
