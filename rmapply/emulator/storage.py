"""SQLite persistence of the emulator: workspaces, jobs, issued tokens and the clock checkpoint.

One connection guarded by a lock serves every thread (in memory or on a file); a file uses WAL
with synchronous=NORMAL, which keeps a commit cheap and survives a process crash.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from pydantic_core import from_json

from rmapply.emulator.lifecycle import Schedule
from rmapply.wire import JobState

SCHEMA_VERSION = "1"
_UNSUBMITTED = Schedule()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workspaces (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  itwin_id TEXT,
  cc_version TEXT,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL,
  itwin_id TEXT,
  created_ms INTEGER NOT NULL,
  modified_ms INTEGER NOT NULL,
  doc TEXT NOT NULL,
  submitted_ms INTEGER,
  started_ms INTEGER,
  run_ms INTEGER NOT NULL DEFAULT 0,
  ends_ms INTEGER,
  outcome TEXT NOT NULL DEFAULT 'success',
  cancelled_ms INTEGER,
  fail_message TEXT
);
CREATE INDEX IF NOT EXISTS jobs_email ON jobs (email, seq);
CREATE INDEX IF NOT EXISTS jobs_itwin ON jobs (itwin_id, seq);
CREATE TABLE IF NOT EXISTS tokens (
  digest TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  expires_ms INTEGER NOT NULL
);
"""

_JOB_COLUMNS = (
    "seq, id, email, itwin_id, created_ms, modified_ms, doc, submitted_ms, started_ms, run_ms, "
    "ends_ms, outcome, cancelled_ms, fail_message"
)


class WorkspaceRow(NamedTuple):
    """A stored workspace."""

    id: str
    name: str
    itwin_id: str | None
    cc_version: str | None
    created_ms: int


class JobRow(NamedTuple):
    """A stored job: identity, the static part of its body (``doc``) and its schedule."""

    id: str
    email: str
    itwin_id: str | None
    created_ms: int
    modified_ms: int
    doc: dict[str, Any]
    schedule: Schedule = _UNSUBMITTED
    fail_message: str | None = None
    seq: int = 0

    def with_(self, **changes: Any) -> JobRow:
        """A copy with some fields changed."""
        return self._replace(**changes)


class TokenRow(NamedTuple):
    """An access token issued by the token endpoint (stored by digest, never in clear)."""

    digest: str
    client_id: str
    expires_ms: int


class ForeignDatabaseError(Exception):
    """The file is an SQLite database, but not one this emulator wrote; it is left untouched."""


class Store:
    """The emulator's database."""

    def __init__(self, path: str | Path | None) -> None:
        self._lock = threading.RLock()
        target = ":memory:" if path is None else str(path)
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        try:
            self._check_ours()
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except BaseException:
            self._db.close()
            raise
        self._in_transaction = False
        if self.get_meta("schema_version") is None:
            self.set_meta("schema_version", SCHEMA_VERSION)

    def _check_ours(self) -> None:
        """Refuse a database of another program (or version) before writing anything to it."""
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        tables = {str(r[0]) for r in rows} - {"sqlite_sequence"}
        if not tables:
            return
        if not {"meta", "workspaces", "jobs", "tokens"} <= tables:
            raise ForeignDatabaseError("it holds the tables of another program")
        found = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if found is None or str(found[0]) != SCHEMA_VERSION:
            version = "none" if found is None else str(found[0])
            raise ForeignDatabaseError(
                f"its schema version is {version}, this emulator reads {SCHEMA_VERSION}"
            )

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and one SQLite transaction for a read-modify-write."""
        with self._lock:
            if self._in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._in_transaction = False

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Execute a statement; the number of rows it changed."""
        with self._lock:
            return self._db.execute(sql, params).rowcount

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._db.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # meta --------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the meta table."""
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # workspaces --------------------------------------------------------------------------------
    def insert_workspace(self, row: WorkspaceRow) -> None:
        """Store a new workspace."""
        self._run(
            "INSERT INTO workspaces (id, name, itwin_id, cc_version, created_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            (row.id, row.name, row.itwin_id, row.cc_version, row.created_ms),
        )

    def get_workspace(self, workspace_id: str) -> WorkspaceRow | None:
        """A workspace by id."""
        row = self._one(
            "SELECT id, name, itwin_id, cc_version, created_ms FROM workspaces WHERE id = ?",
            (workspace_id,),
        )
        return None if row is None else WorkspaceRow(*row)

    def delete_workspace(self, workspace_id: str) -> bool:
        """Delete a workspace; False when there was none."""
        return self._run("DELETE FROM workspaces WHERE id = ?", (workspace_id,)) > 0

    def workspaces(self) -> list[WorkspaceRow]:
        """All workspaces in creation order."""
        rows = self._all(
            "SELECT id, name, itwin_id, cc_version, created_ms FROM workspaces ORDER BY seq"
        )
        return [WorkspaceRow(*r) for r in rows]

    # jobs --------------------------------------------------------------------------------------
    def insert_job(self, row: JobRow) -> None:
        """Store a new job."""
        self._run(
            "INSERT INTO jobs (id, email, itwin_id, created_ms, modified_ms, doc, submitted_ms, "
            "started_ms, run_ms, ends_ms, outcome, cancelled_ms, fail_message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.id, row.email, row.itwin_id, row.created_ms, *_changing_columns(row)),
        )

    def update_job(self, row: JobRow) -> None:
        """Replace a stored job (matched by id)."""
        self._run(
            "UPDATE jobs SET modified_ms = ?, doc = ?, submitted_ms = ?, started_ms = ?, "
            "run_ms = ?, ends_ms = ?, outcome = ?, cancelled_ms = ?, fail_message = ? WHERE id = ?",
            (*_changing_columns(row), row.id),
        )

    def get_job(self, job_id: str) -> JobRow | None:
        """A job by id."""
        row = self._one(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _job_row(row)

    def delete_job(self, job_id: str) -> bool:
        """Delete a job; False when there was none."""
        return self._run("DELETE FROM jobs WHERE id = ?", (job_id,)) > 0

    def jobs(self, email: str | None = None, after_seq: int = 0) -> list[JobRow]:
        """Jobs in creation order, optionally only those of one caller, after a sequence number."""
        if email is None:
            rows = self._all(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE seq > ? ORDER BY seq", (after_seq,)
            )
        else:
            rows = self._all(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE email = ? AND seq > ? ORDER BY seq",
                (email, after_seq),
            )
        return [_job_row(r) for r in rows]

    def jobs_mentioning(self, text: str) -> list[JobRow]:
        """Jobs whose stored body contains ``text`` (case-folded): the few candidates a caller
        then checks field by field, without decoding every job."""
        rows = self._all(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE instr(lower(doc), ?) > 0 ORDER BY seq",
            (text.lower(),),
        )
        return [_job_row(r) for r in rows]

    # tokens ------------------------------------------------------------------------------------
    def insert_token(self, row: TokenRow) -> None:
        """Remember an issued token."""
        self._run(
            "INSERT OR REPLACE INTO tokens (digest, client_id, expires_ms) VALUES (?, ?, ?)",
            (row.digest, row.client_id, row.expires_ms),
        )

    def tokens(self) -> list[TokenRow]:
        """Every issued token."""
        rows = self._all("SELECT digest, client_id, expires_ms FROM tokens")
        return [TokenRow(*r) for r in rows]

    def expire_tokens(self, at_ms: int) -> None:
        """Make every issued token expire at ``at_ms`` (or earlier if it already does)."""
        self._run("UPDATE tokens SET expires_ms = MIN(expires_ms, ?)", (at_ms,))


# the schedule columns of a job never submitted: such rows share the one _UNSUBMITTED schedule
_NEVER_SUBMITTED = (None, None, 0, None, JobState.SUCCESS.value, None)
_OUTCOMES = {state.value: state for state in JobState}


def _job_row(row: tuple[Any, ...]) -> JobRow:
    (seq, job_id, email, itwin_id, created, modified, doc, submitted, started, run_ms, ends,
     outcome, cancelled, fail_message) = row  # fmt: skip
    if row[7:13] == _NEVER_SUBMITTED:
        schedule = _UNSUBMITTED
    else:
        state = _OUTCOMES.get(outcome) or JobState(outcome)
        schedule = Schedule(submitted, started, run_ms, ends, state, cancelled)
    # keys only: interning every value too costs more than it saves on documents read once
    body = from_json(doc, cache_strings="keys")
    return JobRow(job_id, email, itwin_id, created, modified, body, schedule, fail_message, seq)


def _changing_columns(row: JobRow) -> tuple[object, ...]:
    """The columns an update rewrites, in the order of both statements (modified_ms ... fail)."""
    s = row.schedule
    return (
        row.modified_ms,
        json.dumps(row.doc, separators=(",", ":")),
        s.submitted_ms,
        s.started_ms,
        s.run_ms,
        s.ends_ms,
        s.outcome.value,
        s.cancelled_ms,
        row.fail_message,
    )
