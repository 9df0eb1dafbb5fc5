"""State in PostgreSQL: the StateStore protocol on one row per ``[state] key``.

The document is kept in the state file's encoding (a corrupt or newer one is refused the same
way), the journal as rows of the journal file's JSON lines (a header row, then one row per
record, each carrying the serial it extends), the kept versions as rows. The writer's lock is a
session-level advisory lock on the key's row id: a killed holder's connection dies and frees it.
Every journal row is committed on the connection that holds the lock before apply goes on, so a
writer whose connection (and so lock) was lost cannot write at all.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rmapply import __version__
from rmapply.errors import StateError, StateLockedError
from rmapply.state.document import STATE_FORMAT_VERSION, StateDocument
from rmapply.state.journal import Journal, JournalContents, parse_journal
from rmapply.state.lock import LockHolder
from rmapply.state.pgschema import DEFAULT_SCHEMA, connect, database_error, ensure_schema, redact
from rmapply.state.records import JournalEntry, JournalHeader
from rmapply.state.restore import Restored, _check_lineage, choose
from rmapply.state.statefile import decode_state, encode_state
from rmapply.state.store import DEFAULT_KEPT_VERSIONS, StateStore, _fold, refuse_lineage_change
from rmapply.state.traces import StateTraces
from rmapply.state.versions import StateVersion

if TYPE_CHECKING:
    import psycopg

_POLL = 0.2  # seconds between lock attempts while --lock-timeout waits


def _line(record: JournalHeader | JournalEntry) -> bytes:
    return record.model_dump_json().encode("utf-8") + b"\n"


class PostgresStateStore:
    """A StateStore on PostgreSQL; one store serves one command, like the file's."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        keep_versions: int = DEFAULT_KEPT_VERSIONS,
    ) -> None:
        self.url, self.key, self.schema = url, key, schema
        self.keep_versions = keep_versions
        self.version_kept = False  # set by the command's first write
        self._ready = False

    @property
    def location(self) -> str:
        """``postgresql://...#key`` without a password."""
        return f"{redact(self.url)} (schema {self.schema}, key {self.key!r})"

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection, with the schema created or migrated on first use."""
        conn = connect(self.url)
        if not self._ready:
            try:
                ensure_schema(conn, self.url, self.schema)
            except BaseException:
                conn.close()
                raise
            self._ready = True
        return conn

    def run(self, what: str, work: Any) -> Any:
        """``work(conn)`` on a fresh connection, psycopg errors translated."""
        import psycopg

        with self.connect() as conn:
            try:
                return work(conn)
            except psycopg.Error as exc:
                raise database_error(self.url, what, exc) from exc

    def state_id(self, conn: psycopg.Connection[Any]) -> int | None:
        """The key's row id, or None when the key holds no state."""
        row = conn.execute(
            f"SELECT id FROM {self.schema}.states WHERE key = %s", (self.key,)
        ).fetchone()
        return None if row is None else int(row[0])

    def require_id(self, conn: psycopg.Connection[Any]) -> int:
        """The key's row id; StateError when the key was never initialised."""
        found = self.state_id(conn)
        if found is None:
            raise StateError(
                f"no state under key {self.key!r} in {self.location}",
                hint="check [state] key for a typo; to start a new state there run "
                "'rmapply state init', or move a local state in with 'rmapply state migrate "
                "--to URL'",
            )
        return found

    def initialised(self) -> bool:
        """True when the key has a row (made by ``state init`` or ``state migrate``)."""
        return bool(self.run("reading", lambda conn: self.state_id(conn) is not None))

    def init(self) -> bool:
        """Create the key's row (an empty state); False when it existed already."""

        def work(conn: psycopg.Connection[Any]) -> bool:
            cursor = conn.execute(
                f"INSERT INTO {self.schema}.states (key) VALUES (%s) ON CONFLICT DO NOTHING",
                (self.key,),
            )
            return cursor.rowcount == 1

        return bool(self.run("creating the state", work))

    def read(self) -> tuple[StateDocument | None, JournalContents | None, int]:
        """The document, the journal and the revision, as of one snapshot."""

        def work(conn: psycopg.Connection[Any]) -> tuple[bytes | None, bytes, int]:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                state_id = self.require_id(conn)
                cursor = conn.cursor(binary=True)  # bytea as is: hex text costs 4x the time
                row = cursor.execute(
                    f"SELECT document, revision FROM {self.schema}.states WHERE id = %s",
                    (state_id,),
                ).fetchone()
                assert row is not None
                lines = cursor.execute(
                    f"SELECT line FROM {self.schema}.journal WHERE state_id = %s ORDER BY n",
                    (state_id,),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            data = None if row[0] is None else bytes(row[0])
            return data, b"".join(bytes(line[0]) for line in lines), int(row[1])

        data, journal, revision = self.run("reading the state", work)
        path = Path(self.location)
        document = None if data is None else decode_state(path, data)
        return document, (parse_journal(path, journal) if journal else None), revision

    def exists(self) -> bool:
        """True when a document or a journal with records exists."""
        document, journal, _ = self.read()
        return document is not None or (journal is not None and bool(journal.entries))

    def load(self) -> StateDocument:
        """The document with a leftover journal replayed in memory; nothing is written."""
        document, journal, _ = self.read()
        if document is None:
            self.check_traces()  # only a missing document can have lost traces beside it
        if journal is None or journal.header is None:
            return document if document is not None else StateDocument()
        return _fold(Path(self.location), document, journal)

    def lock(self, command: str, timeout: float = 0.0) -> _PostgresLock:
        """Become the one writer, or StateLockedError naming the holder (after ``timeout``)."""
        return _PostgresLock(self, command, timeout)

    def find_traces(self) -> StateTraces:
        """``missing`` when the key has journal rows or versions but no document."""

        def work(conn: psycopg.Connection[Any]) -> tuple[bool, int]:
            state_id = self.require_id(conn)
            row = conn.execute(
                f"SELECT document IS NOT NULL,"
                f" (SELECT count(*) FROM {self.schema}.journal WHERE state_id = %s)"
                f" + (SELECT count(*) FROM {self.schema}.versions WHERE state_id = %s)"
                f" FROM {self.schema}.states WHERE id = %s",
                (state_id, state_id, state_id),
            ).fetchone()
            assert row is not None
            return bool(row[0]), int(row[1])

        present, traces = self.run("reading the state", work)
        path = Path(self.location)
        if present:
            return StateTraces(path, "present")
        return StateTraces(path, "missing", kept=tuple(self.versions()) if traces else ())

    def check_traces(self) -> None:
        """StateError when the key has versions but no document (it was deleted by hand)."""
        traces = self.find_traces()
        if traces.condition == "missing" and traces.kept:
            raise StateError(
                f"state {self.location} has no document but keeps earlier versions",
                hint="its document was deleted: run 'rmapply state restore' to bring the "
                "newest version back (see 'rmapply state versions')",
            )

    def versions(self) -> list[StateVersion]:
        """The kept versions, oldest first."""

        def work(conn: psycopg.Connection[Any]) -> list[Any]:
            state_id = self.require_id(conn)
            return conn.execute(
                f"SELECT name, kept_at, serial, lineage, resources FROM {self.schema}.versions"
                " WHERE state_id = %s ORDER BY kept_at, name",
                (state_id,),
            ).fetchall()

        rows = self.run("reading the versions", work)
        return [
            StateVersion(name, Path(self.location) / name, at, serial, lineage, resources)
            for name, at, serial, lineage, resources in rows
        ]

    def version_data(self, name: str) -> bytes:
        """The document kept as version ``name``."""

        def work(conn: psycopg.Connection[Any]) -> Any:
            return conn.execute(
                f"SELECT data FROM {self.schema}.versions WHERE state_id = %s AND name = %s",
                (self.require_id(conn), name),
            ).fetchone()

        row = self.run("reading a version", work)
        assert row is not None
        return bytes(row[0])

    def restore(
        self,
        version: str | None = None,
        *,
        command: str = "state restore",
        timeout: float = 0.0,
        allow_other_lineage: bool = False,
    ) -> Restored:
        """Under the lock, write ``version`` (default: the newest) back as a new serial."""
        kept = tuple(self.versions())
        chosen = choose(StateTraces(Path(self.location), "present", kept=kept), version)
        assert chosen is not None  # no journal is restored alone here
        document = decode_state(Path(self.location), self.version_data(chosen.name))
        source_serial = document.serial
        with self.lock(command, timeout) as session:
            current = session.document
            reference = current.lineage if self.exists() else None
            _check_lineage(chosen.name, document, reference, allow_other_lineage)
            serials = [v.serial for v in kept if v.serial is not None]
            document.serial = max([current.serial, *serials])
            session.replace(document)
        return Restored(
            source=chosen.name,
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

    def plant(self, data: bytes | None) -> None:
        """Put ``data`` in place of the document, as another program would (tests, migrate)."""

        def work(conn: psycopg.Connection[Any]) -> None:
            conn.execute(
                f"UPDATE {self.schema}.states SET document = %s, revision = revision + 1"
                " WHERE id = %s",
                (data, self.require_id(conn)),
            )

        self.run("writing the state", work)

    def import_versions(self, kept: list[tuple[StateVersion, bytes]]) -> None:
        """Add versions kept elsewhere (``state migrate``); names already here are skipped."""

        def work(conn: psycopg.Connection[Any]) -> None:
            state_id = self.require_id(conn)
            with conn.cursor() as cursor, conn.transaction():
                cursor.executemany(
                    f"INSERT INTO {self.schema}.versions (state_id, name, serial, lineage,"
                    " resources, kept_at, data) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [
                        (state_id, v.name, v.serial, v.lineage, v.resources or 0, v.kept_at, data)
                        for v, data in kept
                    ],
                )

        self.run("copying the versions", work)

    def holder(self) -> LockHolder | None:
        """Who holds the lock as recorded in the key's row (stale if no one holds it)."""

        def work(conn: psycopg.Connection[Any]) -> Any:
            return conn.execute(
                f"SELECT holder FROM {self.schema}.states WHERE key = %s", (self.key,)
            ).fetchone()

        row = self.run("reading the lock holder", work)
        if row is None or row[0] is None:
            return None
        raw = row[0] if isinstance(row[0], dict) else json.loads(row[0])
        return LockHolder(**{k: raw[k] for k in ("pid", "host", "user", "command", "since")})


class PostgresJournal(Journal):
    """The journal of a PostgreSQL session: each record is one committed row."""

    def __init__(self, session: PostgresStateSession, document: StateDocument) -> None:
        super().__init__(Path(session.store.location), document, guard=session.check_held)
        self._session = session

    def _append(self, record: JournalEntry) -> None:
        self._check_ours()
        rows = [] if self._session.journal_started else [_line(self._header(0, record.at))]
        serial = self.document.serial
        try:
            self._session.insert_rows(serial, [*rows, _line(record)])
        except StateError as exc:
            self._lost = exc  # a writer that lost its connection never writes again
            raise
        self._session.journal_started = True
        self._written += 1

    def _header(self, base_serial: int, now: datetime | None) -> JournalHeader:
        header = super()._header(base_serial, now)
        header.base_serial = self.document.serial
        return header

    def rebase(self, base_serial: int, *, now: datetime | None = None) -> None:
        """Count afresh (the session already replaced the journal rows with the document)."""
        with self.lock:
            self._written = 0
            self._unsaved = False


class _PostgresLock:
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
            self.session.close()
        except StateError as close_error:
            if exc is None:
                raise
            exc.add_note(f"then saving the state failed too: {close_error}")
        finally:
            self.conn.close()  # ends the database session, and so the advisory lock


class PostgresStateSession:
    """The writer's session on a PostgresStateStore (made by ``PostgresStateStore.lock``)."""

    def __init__(
        self, store: PostgresStateStore, conn: psycopg.Connection[Any], state_id: int
    ) -> None:
        self.store, self.conn, self.state_id = store, conn, state_id
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

    def insert_rows(self, serial: int, lines: list[bytes]) -> None:
        """Commit ``lines`` as journal rows extending ``serial`` (on the lock's connection)."""
        import psycopg

        self.check_held()
        try:
            with self.conn.cursor() as cursor, self.conn.transaction():
                cursor.executemany(
                    f"INSERT INTO {self.store.schema}.journal (state_id, base_serial, line)"
                    " VALUES (%s, %s, %s)",
                    [(self.state_id, serial, line) for line in lines],
                )
        except psycopg.Error as exc:
            raise (
                self._lost()
                if self.conn.broken
                else database_error(self.store.url, "writing the journal", exc)
            ) from exc

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
                if not (self.conn.closed or self.conn.broken):
                    self.checkpoint()
            finally:
                self._journal.close()

    def _write(self) -> None:
        import psycopg

        self.check_held()
        document = self.document
        document.serial += 1
        document.rmapply_version = __version__
        document.version = STATE_FORMAT_VERSION
        try:
            self._commit(document, encode_state(document))
        except BaseException:
            document.serial -= 1
            raise
        self._dirty = False
        self._journal.rebase(document.serial)
        _ = psycopg  # the driver is loaded by now; errors were translated in _commit

    def _commit(self, document: StateDocument, data: bytes) -> None:
        """One transaction: keep a version, write the document guarded by the revision read,
        replace the journal rows with the open intents."""
        import psycopg

        s, store, moment = self.store.schema, self.store, datetime.now(UTC)
        opened = list(self._journal.open_intents.values())
        try:
            with self.conn.transaction():
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
                if row[0] is None:  # a state just made leaves a version at once
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


def _postgres_store_is_a_state_store(store: PostgresStateStore) -> StateStore:
    return store  # mypy proves here that the postgres backend implements the interface
