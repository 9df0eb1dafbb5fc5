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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmapply.errors import StateError
from rmapply.state.document import StateDocument
from rmapply.state.journal_parse import JournalContents, parse_journal
from rmapply.state.lock import LockHolder
from rmapply.state.pgschema import DEFAULT_SCHEMA, connect, database_error, ensure_schema, redact
from rmapply.state.restore import Restored
from rmapply.state.session import restore_kept_version
from rmapply.state.statefile import decode_state
from rmapply.state.store import DEFAULT_KEPT_VERSIONS, StateStore, _fold
from rmapply.state.traces import StateTraces
from rmapply.state.versions import StateVersion

if TYPE_CHECKING:
    import psycopg

    from rmapply.state.pgsession import PostgresLock


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
        document, journal, revision, _ = self._snapshot()
        return document, journal, revision

    def _snapshot(self) -> tuple[StateDocument | None, JournalContents | None, int, bool]:
        """``read()``, and whether the key keeps versions but no document, in one snapshot."""

        def work(conn: psycopg.Connection[Any]) -> tuple[bytes | None, bytes, int, bool]:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                state_id = self.require_id(conn)
                cursor = conn.cursor(binary=True)  # bytea as is: hex text costs 4x the time
                row = cursor.execute(
                    f"SELECT document, revision, document IS NULL AND EXISTS (SELECT 1 FROM"
                    f" {self.schema}.versions WHERE state_id = %s)"
                    f" FROM {self.schema}.states WHERE id = %s",
                    (state_id, state_id),
                ).fetchone()
                assert row is not None
                lines = cursor.execute(
                    f"SELECT line FROM {self.schema}.journal WHERE state_id = %s ORDER BY n",
                    (state_id,),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            data = None if row[0] is None else bytes(row[0])
            return data, b"".join(bytes(line[0]) for line in lines), int(row[1]), bool(row[2])

        data, journal, revision, orphaned = self.run("reading the state", work)
        path = Path(self.location)
        document = None if data is None else decode_state(path, data)
        contents = parse_journal(path, journal) if journal else None
        return document, contents, revision, orphaned

    def exists(self) -> bool:
        """True when a document or a journal with records exists."""

        # the journal's rows only: fetching and decoding the document (23 MB for 10,000 jobs)
        # just to see that it is there doubled the cost of every plan's state read
        def work(conn: psycopg.Connection[Any]) -> tuple[bool, bytes]:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                state_id = self.require_id(conn)
                row = conn.execute(
                    f"SELECT document IS NOT NULL FROM {self.schema}.states WHERE id = %s",
                    (state_id,),
                ).fetchone()
                lines = (
                    conn.cursor(binary=True)
                    .execute(
                        f"SELECT line FROM {self.schema}.journal WHERE state_id = %s ORDER BY n",
                        (state_id,),
                    )
                    .fetchall()
                )
            finally:
                conn.execute("COMMIT")
            return bool(row and row[0]), b"".join(bytes(line[0]) for line in lines)

        present, lines = self.run("reading the state", work)
        if present:
            return True
        journal = parse_journal(Path(self.location), lines) if lines else None
        return journal is not None and bool(journal.entries)

    def load(self) -> StateDocument:
        """The document with a leftover journal replayed in memory; nothing is written."""
        # whether versions are kept beside a missing document is read in the same snapshot: a
        # writer's first checkpoint between two reads would look like a deleted document
        document, journal, _, orphaned = self._snapshot()
        if orphaned:
            raise self._orphaned()
        if journal is None or journal.header is None:
            return document if document is not None else StateDocument()
        return _fold(Path(self.location), document, journal)

    def lock(self, command: str, timeout: float = 0.0) -> PostgresLock:
        """Become the one writer, or StateLockedError naming the holder (after ``timeout``)."""
        from rmapply.state.pgsession import PostgresLock

        return PostgresLock(self, command, timeout)

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
            raise self._orphaned()

    def _orphaned(self) -> StateError:
        return StateError(
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
        return restore_kept_version(
            self,
            version,
            command=command,
            timeout=timeout,
            allow_other_lineage=allow_other_lineage,
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


def _postgres_store_is_a_state_store(store: PostgresStateStore) -> StateStore:
    return store  # mypy proves here that the postgres backend implements the interface
