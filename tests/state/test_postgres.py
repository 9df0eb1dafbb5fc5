"""The PostgreSQL backend beyond the shared contract: lost connections, schema versions, keys
that hold no state, moving a local state in and out, and the marker a moved state leaves."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from rmapply.config import parse_config
from rmapply.errors import ConfigError, StateError
from rmapply.project import LOCAL_STATE, Project
from rmapply.state import LocalStateStore, StateDocument
from rmapply.state.pgschema import SCHEMA_VERSION
from rmapply.state.postgres import PostgresStateStore
from rmapply.state.statefile import read_state
from tests.cli.project import run
from tests.state import pg
from tests.state.conftest import make_record


@pytest.fixture
def pg_url() -> str:
    """The test server's URL (skips, or fails under RMAPPLY_REQUIRE_PG=1, when unreachable)."""
    return pg.require_server()


@pytest.fixture
def key(pg_url: str) -> Iterator[str]:
    """A key of this test's own, deleted afterwards."""
    chosen = pg.new_key()
    yield chosen
    pg.drop_key(pg_url, pg.TEST_SCHEMA, chosen)


def _store(url: str, key: str) -> PostgresStateStore:
    return PostgresStateStore(url, key, schema=pg.TEST_SCHEMA)


def _local_state(path: Path, *addresses: str) -> StateDocument:
    with LocalStateStore(path).lock("apply") as session:
        for address in addresses:
            seq = session.journal.intent(address, "create")
            session.journal.result(seq, upsert=make_record(address, remote_id=f"id-{address}"))
    return LocalStateStore(path).load()


def _project(folder: Path, state: str) -> Path:
    (folder / "rmapply.toml").write_text(f"[project]\n[state]\n{state}")
    (folder / "workspaces.toml").write_text("")  # no resources asked for
    return folder


LOCAL = f'schema = "{pg.TEST_SCHEMA}"\n'  # the local backend; the schema migrate writes to


def _postgres_config(url: str, key: str) -> str:
    return f'backend = "postgres"\nurl = "{url}"\nkey = "{key}"\nschema = "{pg.TEST_SCHEMA}"\n'


def test_a_writer_whose_connection_was_cut_stops_before_writing_anything_more(pg_url, key):
    store = _store(pg_url, key)
    store.init()
    with (
        pytest.raises(StateError, match=r"lock of state .* was lost"),
        store.lock("apply") as session,
    ):
        first = session.journal.intent("jobs.sent", "create")
        backend = session.conn.info.backend_pid
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", (backend,))
        session.journal.intent("jobs.never", "create")
    loaded = _store(pg_url, key).load()
    assert set(loaded.pending) == {"jobs.sent"}  # recorded before the cut, nothing after it
    assert first == 1
    with _store(pg_url, key).lock("apply"):  # the lock died with the connection
        pass


def test_a_schema_of_a_newer_rmapply_is_refused_and_left_as_it_is(pg_url: str) -> None:
    schema = f"rmapply_newer_{uuid.uuid4().hex[:8]}"
    try:
        PostgresStateStore(pg_url, "k", schema=schema).init()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"UPDATE {schema}.schema_version SET version = 99")
        with pytest.raises(StateError, match="is version 99; this rmapply knows versions up to"):
            PostgresStateStore(pg_url, "k", schema=schema).load()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            row = admin.execute(f"SELECT version FROM {schema}.schema_version").fetchone()
        assert row == (99,)
    finally:
        pg.drop_schema(pg_url, schema)


def test_a_key_that_holds_no_state_is_refused_by_every_command(pg_url, key, tmp_path):
    folder = _project(tmp_path, _postgres_config(pg_url, key))
    commands = (["state", "list"], ["plan", "--no-refresh"], ["state", "versions"], ["apply"])
    service = {"RMAPPLY_TOKEN": "t", "RMAPPLY_ENDPOINT": "http://127.0.0.1:1"}  # never reached
    for args in commands:
        code, _, err = run("-C", str(folder), *args, env=service)
        assert code == 1, (args, err)
        assert f"no state under key {key!r}" in err
        assert "rmapply state init" in err and "rmapply state migrate" in err
    with pytest.raises(StateError, match="no state under key"), _store(pg_url, key).lock("apply"):
        pytest.fail("a writer took a key that holds no state")


def test_state_init_creates_an_empty_state_once(pg_url, key, tmp_path):
    folder = _project(tmp_path, _postgres_config(pg_url, key))
    code, out, err = run("-C", str(folder), "state", "init")
    assert (code, err) == (0, "") and key in out
    assert run("-C", str(folder), "state", "list")[0] == 0
    code, _, err = run("-C", str(folder), "state", "init")
    assert code == 1 and "exists already" in err


def test_migrate_moves_a_local_state_in_and_copies_it_back(pg_url, key, tmp_path):
    folder = _project(tmp_path, LOCAL)
    local = _local_state(folder / "rmapply.state.json", "jobs.a", "jobs.b")
    code, out, err = run("-C", str(folder), "state", "migrate", "--to", pg_url, "--key", key)
    assert code == 0, err
    assert not (folder / "rmapply.state.json").exists()
    marker = (folder / "rmapply.state.json.migrated").read_text()
    assert key in marker and "127.0.0.1" in marker
    moved = _store(pg_url, key).load()
    assert (moved.lineage, moved.serial, set(moved.resources)) == (
        local.lineage,
        local.serial,
        {"jobs.a", "jobs.b"},
    )
    assert _store(pg_url, key).versions()  # the local history came along
    _project(folder, _postgres_config(pg_url, key))
    code, out, _ = run("-C", str(folder), "state", "list")
    assert (code, out.split()) == (0, ["jobs.a", "jobs.b"])
    back = tmp_path / "back.json"
    code, _, err = run("-C", str(folder), "state", "migrate", "--to", str(back))
    assert code == 0, err
    copied = read_state(back)
    assert copied is not None
    assert (copied.lineage, set(copied.resources)) == (local.lineage, {"jobs.a", "jobs.b"})


def test_a_moved_local_state_refuses_a_run_without_the_backend(pg_url, key, tmp_path):
    folder = _project(tmp_path, LOCAL)
    _local_state(folder / "rmapply.state.json", "jobs.a")
    assert run("-C", str(folder), "state", "migrate", "--to", pg_url, "--key", key)[0] == 0
    code, out, err = run("-C", str(folder), "state", "list")
    assert (code, out) == (1, "")
    assert "was moved to" in err and key in err


def test_migrate_refuses_to_overwrite_another_lineage(pg_url, key, tmp_path):
    first = _project(tmp_path / "first", LOCAL) if (tmp_path / "first").mkdir() is None else None
    second = _project(tmp_path / "second", LOCAL) if (tmp_path / "second").mkdir() is None else None
    assert first is not None and second is not None
    _local_state(first / "rmapply.state.json", "jobs.a")
    _local_state(second / "rmapply.state.json", "jobs.other")
    assert run("-C", str(first), "state", "migrate", "--to", pg_url, "--key", key)[0] == 0
    code, _, err = run("-C", str(second), "state", "migrate", "--to", pg_url, "--key", key)
    assert code == 1 and "another state" in err
    assert (second / "rmapply.state.json").exists()  # nothing set aside
    assert set(_store(pg_url, key).load().resources) == {"jobs.a"}


def test_a_password_in_rmapply_toml_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    raw = (
        b'[project]\n[state]\nbackend = "postgres"\nkey = "k"\nurl = "postgresql://u:s3cret@h/db"\n'
    )
    with pytest.raises(ConfigError) as refused:
        parse_config(raw, directory=tmp_path)
    text = refused.value.message
    assert "rmapply.toml:5" in text and "PGPASSWORD" in text
    assert "s3cret" not in text


def test_the_postgres_backend_without_a_key_is_a_config_error_naming_it(tmp_path: Path) -> None:
    raw = b'[project]\n[state]\nbackend = "postgres"\nurl = "postgresql://u@h/db"\n'
    with pytest.raises(ConfigError, match="key: required"):
        parse_config(raw, directory=tmp_path)


def test_a_local_rehearsal_keeps_its_local_state_with_the_postgres_backend(tmp_path: Path):
    project = Project.load(_project(tmp_path, _postgres_config("postgresql://u@h/db", "k")))
    assert isinstance(project.store, PostgresStateStore)
    project.use_local_state()
    assert project.store.location == str(tmp_path / LOCAL_STATE)


def test_the_environment_url_wins_and_its_password_is_used_but_never_shown(pg_url, key, tmp_path):
    nowhere = 'url = "postgresql://nobody@127.0.0.1:1/none"\n'  # rmapply.toml's, unreachable
    folder = _project(tmp_path, _postgres_config(pg_url, key).replace(f'url = "{pg_url}"\n', ""))
    (folder / "rmapply.toml").write_text((folder / "rmapply.toml").read_text() + nowhere)
    parts = urlsplit(pg_url)
    with_password = urlunsplit(
        parts._replace(
            netloc=f"{parts.username or 'postgres'}:s3cret-pw@{parts.netloc.split('@')[-1]}"
        )
    )
    env = {"RMAPPLY_STATE_URL": with_password}
    for args in (["state", "init"], ["state", "list"], ["state", "versions"]):
        code, out, err = run("-C", str(folder), *args, env=env)
        assert code == 0, err
        assert "s3cret-pw" not in out + err
    unreachable = {"RMAPPLY_STATE_URL": "postgresql://u:s3cret-pw@127.0.0.1:1/db"}
    code, out, err = run("-C", str(folder), "state", "list", env=unreachable)
    assert code == 1 and "127.0.0.1:1" in err
    assert "s3cret-pw" not in out + err


def test_the_lock_is_an_advisory_lock_on_the_keys_row_id_so_keys_never_collide(pg_url, key):
    other = pg.new_key()
    try:
        first, second = _store(pg_url, key), _store(pg_url, other)
        first.init(), second.init()
        with first.lock("apply") as session, second.lock("apply") as beside:
            with psycopg.connect(pg_url, autocommit=True) as admin:
                held = admin.execute(
                    "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks"
                    " WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND pid = %s",
                    (session.conn.info.backend_pid,),
                ).fetchall()
            assert held == [(session.state_id,)]
            assert beside.state_id != session.state_id
    finally:
        pg.drop_key(pg_url, pg.TEST_SCHEMA, other)


def test_a_load_sees_document_and_journal_as_of_one_moment_while_a_writer_checkpoints(pg_url, key):
    store = _store(pg_url, key)
    store.init()
    done, failures = threading.Event(), []

    def write() -> None:
        try:
            with store.lock("apply") as session:
                for n in range(150):
                    seq = session.journal.intent(f"jobs.n{n}", "create")
                    session.journal.result(seq, upsert=make_record(f"jobs.n{n}", remote_id=f"{n}"))
                    session.checkpoint()
        except BaseException as exc:
            failures.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    counts = []
    while not done.is_set():
        counts.append(len(_store(pg_url, key).load().resources))  # never a torn read
    writer.join()
    assert failures == []
    assert counts == sorted(counts)  # never a document with a journal of another moment
    assert _store(pg_url, key).load().resources.keys() == {f"jobs.n{n}" for n in range(150)}


def test_a_schema_of_an_older_rmapply_is_migrated_forward(pg_url: str) -> None:
    schema = f"rmapply_older_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(pg_url, autocommit=True) as admin:  # as version 0 left it
            admin.execute(f"CREATE SCHEMA {schema}")
            admin.execute(f"CREATE TABLE {schema}.schema_version (version integer NOT NULL)")
        store = PostgresStateStore(pg_url, "k", schema=schema)
        assert store.init()
        assert store.load().serial == 0
        with psycopg.connect(pg_url, autocommit=True) as admin:
            row = admin.execute(f"SELECT version FROM {schema}.schema_version").fetchall()
        assert row == [(SCHEMA_VERSION,)]
    finally:
        pg.drop_schema(pg_url, schema)


def test_without_a_server_the_tests_skip_naming_why_unless_rmapply_require_pg_is_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RMAPPLY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:1/test")
    monkeypatch.delenv("RMAPPLY_REQUIRE_PG", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match=r"PostgreSQL at .*127\.0\.0\.1:1.* unreachable"
    ):
        pg.require_server()
    monkeypatch.setenv("RMAPPLY_REQUIRE_PG", "1")
    with pytest.raises(pytest.fail.Exception, match="RMAPPLY_REQUIRE_PG=1 but PostgreSQL at"):
        pg.require_server()


def test_the_state_lives_in_schema_rmapply_unless_another_is_configured(tmp_path: Path) -> None:
    config = 'backend = "postgres"\nurl = "postgresql://u@h/db"\nkey = "k"\n'
    store = Project.load(_project(tmp_path, config)).store
    assert isinstance(store, PostgresStateStore) and store.schema == "rmapply"
