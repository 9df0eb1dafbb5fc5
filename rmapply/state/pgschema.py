"""The PostgreSQL state backend's connection and schema: connect, create, migrate forward.

psycopg is imported here only, and only when the postgres backend is used (``rmapply --version``
and plans on local state never pay for it). Every psycopg error is translated at this edge.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from rmapply.errors import StateError

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = 1
DEFAULT_SCHEMA = "rmapply"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# each entry takes the schema from version N - 1 to N (index 0: from nothing to 1)
_MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE IF NOT EXISTS {s}.states ("
        " id bigserial PRIMARY KEY, key text NOT NULL UNIQUE, document bytea,"
        " revision bigint NOT NULL DEFAULT 0, holder jsonb,"
        " created_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE IF NOT EXISTS {s}.journal ("
        " state_id bigint NOT NULL REFERENCES {s}.states(id) ON DELETE CASCADE,"
        " n bigserial, base_serial bigint NOT NULL, line bytea NOT NULL,"
        " PRIMARY KEY (state_id, n))",
        "CREATE TABLE IF NOT EXISTS {s}.versions ("
        " state_id bigint NOT NULL REFERENCES {s}.states(id) ON DELETE CASCADE,"
        " name text NOT NULL, serial bigint, lineage text, resources integer NOT NULL,"
        " kept_at timestamptz NOT NULL, data bytea NOT NULL, PRIMARY KEY (state_id, name))",
    ],
]


def redact(url: str) -> str:
    """``url`` without any password (for messages and marker files)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))


def check_schema_name(name: str) -> str:
    """``name`` if it is a plain lower-case SQL identifier, else StateError."""
    if not _NAME.match(name):
        raise StateError(
            f"[state] schema {name!r} is not a plain SQL name",
            hint="use lower-case letters, digits and underscores, starting with a letter",
        )
    return name


def database_error(url: str, what: str, exc: Exception) -> StateError:
    """A psycopg error as a StateError (the message never carries a password)."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StateError(
        f"PostgreSQL state at {redact(url)}: {what} failed: {detail}",
        hint="check that the server is up and reachable, and the URL, user and password "
        "(RMAPPLY_STATE_URL, PGPASSWORD or ~/.pgpass)",
    )


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A new connection to ``url`` (StateError when it cannot be made)."""
    import psycopg  # lazily: only the postgres backend needs the driver

    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        raise database_error(url, "connecting", exc) from exc


def ensure_schema(conn: psycopg.Connection[Any], url: str, schema: str) -> None:
    """Create ``schema`` on first use and migrate it forward; refuse a newer one."""
    s = check_schema_name(schema)
    if _version(conn, url, s) == SCHEMA_VERSION:
        return  # the usual case: no DDL, so a user without CREATE rights works too
    with conn.transaction():
        # one creator at a time: two first commands must not both create the tables
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('rmapply-schema'))")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)")
        current = _version(conn, url, s)
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[version - 1]:
                conn.execute(statement.format(s=s))
            conn.execute(f"DELETE FROM {s}.schema_version")
            conn.execute(f"INSERT INTO {s}.schema_version VALUES (%s)", (version,))


def _version(conn: psycopg.Connection[Any], url: str, s: str) -> int:
    """The schema's version (0 when it has none yet); StateError when newer than this rmapply."""
    row = conn.execute("SELECT to_regclass(%s)", (f"{s}.schema_version",)).fetchone()
    if row is None or row[0] is None:
        return 0
    row = conn.execute(f"SELECT max(version) FROM {s}.schema_version").fetchone()
    current = int(row[0]) if row is not None and row[0] is not None else 0
    if current > SCHEMA_VERSION:
        raise StateError(
            f"PostgreSQL state schema {s} at {redact(url)} is version {current}; this "
            f"rmapply knows versions up to {SCHEMA_VERSION}",
            hint="upgrade rmapply (a newer rmapply migrated this schema); nothing was changed",
        )
    return current
