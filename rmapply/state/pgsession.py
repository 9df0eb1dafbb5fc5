"""The writer's side of the PostgreSQL state: the lock, the session and its journal rows.

The lock is a session-level advisory lock on the key's row id, held by one connection for the
whole command; every journal row and checkpoint is written on that connection, so a writer whose
connection was cut (and its lock freed by the server) cannot write anything more.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rmapply.errors import StateError, StateLockedError
from rmapply.state.document import StateDocument
from rmapply.state.journal import _line
from rmapply.state.lock import LockHolder
from rmapply.state.pgjournal import PostgresJournal
from rmapply.state.pgschema import database_error
from rmapply.state.records import JournalHeader
from rmapply.state.session import JournalledSession, close_leaving
from rmapply.state.statefile import decode_state, encode_state
from rmapply.state.store import _fold

if TYPE_CHECKING:
    import psycopg

    from rmapply.state.postgres import PostgresStateStore

_POLL = 0.2  # seconds between lock attempts while --lock-timeout waits


class PostgresLock:
    """``store.lock(...)``: a context manager (no generator: a session dropped unclosed, as by
    a killed process, must never checkpoint when it is collected)."""

    def __init__(self, store: PostgresStateStore, command: str, timeout: float) -> None:
        self.store, self.command, self.timeout = store, command, timeout
        self.session: PostgresStateSession | None = None
        self.conn: psycopg.Connection[Any] | None = None

    def __enter__(self) -> PostgresStateSession:
        import psycopg

        store = self.store
        conn = self.conn = store.connect()
        try:
            state_id = store.require_id(conn)
            deadline = time.monotonic() + self.timeout
            while True:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (state_id,)).fetchone()
                if row is not None and row[0]:
                    break
                if time.monotonic() >= deadline:
                    holder = store.holder()
                    waited = f"; gave up after waiting {self.timeout:g} s" if self.timeout else ""
                    who = holder.describe() if holder else "another process"
                    raise StateLockedError(
                        f"state {store.location} is locked by {who}{waited}",
                        holder=holder.to_dict() if holder else {},
                        hint="wait for that command to finish, or let this one wait with "
                        "--lock-timeout SECONDS",
                    )
                time.sleep(_POLL)
            holder = LockHolder.current(self.command)
            conn.execute(
                f"UPDATE {store.schema}.states SET holder = %s WHERE id = %s",
                (json.dumps(holder.to_dict()), state_id),
            )
            store.check_traces()
            self.session = PostgresStateSession(store, conn, state_id)
        except psycopg.Error as exc:
            conn.close()
            raise database_error(store.url, "taking the lock", exc) from exc
        except BaseException:
            conn.close()
            raise
        return self.session

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.session is not None and self.conn is not None
        try:
            close_leaving(self.session, exc)
        finally:
            self.conn.close()  # ends the database session, and so the advisory lock


class PostgresStateSession(JournalledSession):
    """The writer's session on a PostgresStateStore (made by ``PostgresStateStore.lock``)."""

    _journal: PostgresJournal

    def __init__(
        self, store: PostgresStateStore, conn: psycopg.Connection[Any], state_id: int
    ) -> None:
        self.store, self.conn, self.state_id = store, conn, state_id
        self.conn_lock = threading.Lock()  # one statement or transaction at a time on conn
        document, journal, self._revision = store.read()
        replayed = journal is not None and journal.header is not None and bool(journal.entries)
        if journal is not None and journal.header is not None:
            document = _fold(Path(store.location), document, journal)
        self.journal_started = journal is not None
        self._journal = PostgresJournal(self, document or StateDocument())
        self._dirty = replayed
        if replayed:
            self.checkpoint()

    def check_held(self) -> None:
        """StateError when the connection holding the lock is gone (so is the lock)."""
        if self.conn.closed or self.conn.broken:
            raise self._lost()

    def _lost(self) -> StateError:
        return StateError(
            f"the lock of state {self.store.location} was lost during this command (its "
            "database connection ended); stopped before writing anything more",
            hint="run the command again: it replays what this command recorded",
        )

    def insert_rows(self, rows: list[tuple[int, bytes]]) -> None:
        """Commit ``rows`` (serial extended, line) in one statement on the lock's connection
        (the caller holds ``conn_lock``); their order is the journal's."""
        import psycopg

        self.check_held()
        serials, lines = zip(*rows, strict=True)
        try:
            # autocommit: one statement is one transaction, committed in one round trip
            self.conn.execute(
                f"INSERT INTO {self.store.schema}.journal (state_id, base_serial, line)"
                " SELECT %s, r.serial, r.line"
                " FROM unnest(%s::bigint[], %s::bytea[]) WITH ORDINALITY AS r(serial, line, i)"
                " ORDER BY r.i",
                (self.state_id, list(serials), list(lines)),
            )
        except psycopg.Error as exc:
            raise (
                self._lost()
                if self.conn.broken
                else database_error(self.store.url, "writing the journal", exc)
            ) from exc

    def _check_held(self) -> None:
        self.check_held()

    def _can_write(self) -> bool:
        # with the connection gone, so is the lock: the journal rows stay for the next command
        return not (self.conn.closed or self.conn.broken)

    def _commit(self, document: StateDocument) -> None:
        """One transaction: keep a version, write the document guarded by the revision read,
        replace the journal rows with the open intents."""
        import psycopg

        data = encode_state(document)
        s, store, moment = self.store.schema, self.store, datetime.now(UTC)
        opened = list(self._journal.open_intents.values())
        try:
            with self._journal.checkpointing(), self.conn.transaction():
                row = self.conn.execute(
                    f"SELECT document, revision FROM {s}.states WHERE id = %s FOR UPDATE",
                    (self.state_id,),
                ).fetchone()
                assert row is not None
                if int(row[1]) != self._revision:
                    raise StateError(
                        f"state {store.location} was changed by another program during this "
                        "command; it was not overwritten",
                        hint="run the command again: it reads the changed state and replays "
                        "the calls this command recorded",
                    )
                if not store.version_kept and row[0] is not None:
                    previous = bytes(row[0])
                    self._keep(previous, decode_state(Path(store.location), previous), moment)
                self.conn.execute(
                    f"UPDATE {s}.states SET document = %s, revision = revision + 1 WHERE id = %s",
                    (data, self.state_id),
                )
                self.conn.execute(f"DELETE FROM {s}.journal WHERE state_id = %s", (self.state_id,))
                lines: list[bytes] = []
                if opened:  # carried into the fresh journal, as the file journal does
                    header = JournalHeader(
                        lineage=document.lineage, base_serial=document.serial, created_at=moment
                    )
                    lines = [_line(header), *(_line(r) for r in opened)]
                    with self.conn.cursor() as cursor:
                        cursor.executemany(
                            f"INSERT INTO {s}.journal (state_id, base_serial, line)"
                            " VALUES (%s, %s, %s)",
                            [(self.state_id, document.serial, line) for line in lines],
                        )
                if row[0] is None and not self._has_versions():
                    # a state just made leaves a version at once; one moved in with its
                    # versions (state migrate) has its traces already and keeps its history
                    self._keep(data, document, moment)
        except psycopg.Error as exc:
            raise (
                self._lost()
                if self.conn.broken
                else database_error(store.url, "writing the state", exc)
            ) from exc
        self._revision += 1
        self.journal_started = bool(opened)
        store.version_kept = True

    def _has_versions(self) -> bool:
        row = self.conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM {self.store.schema}.versions WHERE state_id = %s)",
            (self.state_id,),
        ).fetchone()
        return bool(row and row[0])

    def _keep(self, data: bytes, document: StateDocument, moment: datetime) -> None:
        """Keep ``data`` as a version (inside the checkpoint's transaction); drop the oldest."""
        s = self.store.schema
        last = self.conn.execute(
            f"SELECT data FROM {s}.versions WHERE state_id = %s ORDER BY kept_at DESC, name DESC"
            " LIMIT 1",
            (self.state_id,),
        ).fetchone()
        if last is not None and bytes(last[0]) == data:
            return  # kept already (a new state is kept right after it is first written)
        stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-serial-{document.serial}"
        self.conn.execute(
            f"INSERT INTO {s}.versions (state_id, name, serial, lineage, resources, kept_at,"
            " data) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                self.state_id,
                name,
                document.serial,
                document.lineage,
                len(document.resources),
                moment,
                data,
            ),
        )
        self.conn.execute(
            f"DELETE FROM {s}.versions WHERE state_id = %s AND name NOT IN (SELECT name FROM"
            f" {s}.versions WHERE state_id = %s ORDER BY kept_at DESC, name DESC LIMIT %s)",
            (self.state_id, self.state_id, self.store.keep_versions),
        )
