"""The PostgreSQL server of the tests: RMAPPLY_TEST_PG_URL, a skip (or, with
RMAPPLY_REQUIRE_PG=1, a failure) when it cannot be reached; each test on its own key."""

from __future__ import annotations

import os
import time
import uuid

import pytest

DEFAULT_TEST_URL = "postgresql://postgres@127.0.0.1:5432/test"
TEST_SCHEMA = "rmapply_test"


def server_url() -> str:
    """The server the tests use."""
    return os.environ.get("RMAPPLY_TEST_PG_URL", "").strip() or DEFAULT_TEST_URL


def require_server() -> str:
    """The URL, or skip (fail under RMAPPLY_REQUIRE_PG=1) naming why it is unusable."""
    url = server_url()
    reason = ""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except ImportError:
        reason = "psycopg is not installed"
    except Exception as exc:  # any failure to reach the server: report it
        reason = f"PostgreSQL at {url} unreachable: {str(exc).strip().splitlines()[0]}"
    if reason:
        if os.environ.get("RMAPPLY_REQUIRE_PG") == "1":
            pytest.fail(f"RMAPPLY_REQUIRE_PG=1 but {reason}")
        pytest.skip(reason)
    return url


def new_key() -> str:
    """A key no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


def drop_key(url: str, schema: str, key: str) -> None:
    """Delete the key's state, journal and versions."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists:
            conn.execute(f"DELETE FROM {schema}.states WHERE key = %s", (key,))


def drop_schema(url: str, schema: str) -> None:
    """Delete a schema of its own (a test that changes the schema itself)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def wait_backend_gone(url: str, backend_pid: int, within: float = 30.0) -> None:
    """Return once the server ended the backend of a killed client (its lock is free then)."""
    import psycopg

    deadline = time.monotonic() + within
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
            ).fetchone()
            if row is None:
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {backend_pid} still alive after {within} s")
