"""The PostgreSQL journal under apply's workers: records of workers that record at the same
moment share a commit, yet each caller goes on only once its own record is committed, rows
always extend the serial of the document they follow, and a cut connection stops every worker."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rmapply.errors import StateError
from rmapply.state.pgsession import PostgresLock, PostgresStateSession
from rmapply.state.postgres import PostgresStateStore
from rmapply.state.statefile import decode_state
from tests.state import pg
from tests.state.conftest import make_record

WORKERS = 8


@pytest.fixture
def store() -> Iterator[PostgresStateStore]:
    """An initialised key of this test's own, deleted afterwards."""
    url = pg.require_server()
    chosen = PostgresStateStore(url, pg.new_key(), schema=pg.TEST_SCHEMA)
    chosen.init()
    yield chosen
    pg.drop_key(url, pg.TEST_SCHEMA, chosen.key)


@pytest.fixture
def writer(store: PostgresStateStore) -> Iterator[tuple[PostgresLock, PostgresStateSession]]:
    """The lock of ``store`` taken, and its session; never ended (the test ends it as a crash)."""
    lock = store.lock("apply")
    session = lock.__enter__()
    yield lock, session
    _die(lock)


def _in_workers(work: Callable[[int], None], count: int = WORKERS) -> list[BaseException]:
    """Run ``work(n)`` in ``count`` threads at once; the errors they ended with."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def _rows(store: PostgresStateStore, columns: str, tail: str = " ORDER BY j.n") -> list[Any]:
    """The key's journal rows, in order, as ``columns`` (read on a connection of its own)."""
    with psycopg.connect(store.url, autocommit=True) as conn:
        return conn.execute(
            f"SELECT {columns} FROM {store.schema}.journal j JOIN {store.schema}.states s"
            f" ON s.id = j.state_id WHERE s.key = %s{tail}",
            (store.key,),
        ).fetchall()


def _die(lock: PostgresLock) -> None:
    """End the session as a killed process would: the connection goes, nothing is written."""
    assert lock.conn is not None
    lock.conn.close()


def test_each_record_is_committed_before_its_worker_goes_on_and_workers_share_commits(
    store, writer
):
    lock, session = writer
    unseen: list[str] = []

    def work(n: int) -> None:
        with psycopg.connect(store.url, autocommit=True) as observer:
            for i in range(25):
                address = f"jobs.w{n}-{i}"
                seq = session.journal.intent(address, "create")
                # another connection sees the intent the moment intent() returns
                found = observer.execute(
                    f"SELECT count(*) FROM {store.schema}.journal"
                    " WHERE state_id = %s AND position(%s in line) > 0",
                    (session.state_id, f'"address":"{address}"'.encode()),
                ).fetchone()
                if found != (1,):
                    unseen.append(address)
                session.journal.result(seq, upsert=make_record(address, remote_id=f"id-{n}-{i}"))

    assert _in_workers(work) == []
    assert unseen == []
    transactions, rows = _rows(store, "count(DISTINCT j.xmin::text), count(*)", "")[0]
    assert rows == 1 + WORKERS * 25 * 2  # the header, then every intent and result
    assert transactions < rows  # records written at the same moment shared a commit
    _die(lock)
    loaded = PostgresStateStore(store.url, store.key, schema=store.schema).load()
    assert len(loaded.resources) == WORKERS * 25 and not loaded.pending


def test_rows_recorded_during_checkpoints_extend_the_serial_of_the_document_they_follow(
    store, writer
):
    _, session = writer
    recorders = list(range(2, WORKERS))
    left, counting, stop = [len(recorders)], threading.Lock(), threading.Event()
    seen: list[tuple[int, list[int], bool]] = []  # (document serial, rows' serials, header first)

    def work(n: int) -> None:
        if n == 0:  # one worker checkpoints while the others record, as a long apply does
            while not stop.is_set():
                session.checkpoint()
        elif n == 1:  # another program reads the key the whole time
            with psycopg.connect(store.url, autocommit=True) as reader:
                while not stop.is_set():
                    seen.append(_snapshot(reader, store))
        else:
            for i in range(40):
                address = f"jobs.w{n}-{i}"
                seq = session.journal.intent(address, "create")
                session.journal.result(seq, upsert=make_record(address, remote_id=f"id-{n}-{i}"))
            with counting:
                left[0] -= 1
                if left[0] == 0:
                    stop.set()

    assert _in_workers(work) == []
    assert seen
    wrong = [s for s in seen if set(s[1]) - {s[0]} or (s[1] and not s[2])]
    assert wrong == []  # every row extends the document it follows; a header comes first
    _die(writer[0])
    loaded = PostgresStateStore(store.url, store.key, schema=store.schema).load()
    assert len(loaded.resources) == len(recorders) * 40 and not loaded.pending


def _snapshot(
    conn: psycopg.Connection[Any], store: PostgresStateStore
) -> tuple[int, list[int], bool]:
    """As of one snapshot: the document's serial, its journal rows' serials, header first."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        document = _document(store, conn)
        rows = conn.execute(
            f"SELECT j.base_serial, j.line FROM {store.schema}.journal j JOIN"
            f" {store.schema}.states s ON s.id = j.state_id WHERE s.key = %s ORDER BY j.n",
            (store.key,),
        ).fetchall()
    serial = decode_state(Path(store.location), document).serial if document else 0
    header = bool(rows) and bytes(rows[0][1]).startswith(b'{"kind":"journal"')
    return serial, [int(r[0]) for r in rows], header


def _document(store: PostgresStateStore, conn: psycopg.Connection[Any]) -> bytes:
    row = conn.execute(
        f"SELECT document FROM {store.schema}.states WHERE key = %s", (store.key,)
    ).fetchone()
    assert row is not None
    return b"" if row[0] is None else bytes(row[0])


def test_a_cut_connection_stops_every_worker_and_whatever_returned_was_committed(store, writer):
    _, session = writer
    returned: list[str] = []
    cut = threading.Event()
    backend = session.conn.info.backend_pid

    def work(n: int) -> None:
        i = 0
        while True:
            address = f"jobs.w{n}-{i}"
            session.journal.intent(address, "create")
            returned.append(address)  # only a committed intent may lead to a call
            i += 1
            if n == 0 and i == 20:
                with psycopg.connect(store.url, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s, 10000)", (backend,))
                cut.set()
            if i > 10_000:
                raise AssertionError("recording went on after the cut")

    errors = _in_workers(work)
    assert cut.is_set()
    assert len(errors) == WORKERS
    assert all(isinstance(e, StateError) and "was lost" in e.message for e in errors)
    pg.wait_backend_gone(store.url, backend)
    loaded = PostgresStateStore(store.url, store.key, schema=store.schema).load()
    assert set(returned) <= set(loaded.pending)  # nothing a worker went on with is lost
    with store.lock("apply"):  # the lock died with the connection
        pass
