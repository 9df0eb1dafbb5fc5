"""Every StateStore passes one contract (tests/state/contract.py); a backend adds its factory."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rmapply.state import LocalStateStore, StateStore
from rmapply.state.memory import MemoryState, MemoryStateStore
from rmapply.state.postgres import PostgresStateStore
from tests.state import pg
from tests.state.conftest import Workers
from tests.state.contract import StoreContract, threads_holding
from tests.state.workers import record_then_die


class LocalFactory:
    """The state file in this test's folder; other parties are other processes."""

    cross_process = True

    def __init__(self, folder: Path, workers: Workers) -> None:
        self.path = folder / "state.json"
        self.workers = workers

    def open(self, *, keep_versions: int = 5) -> StateStore:
        """A LocalStateStore on the file."""
        return LocalStateStore(self.path, keep_versions=keep_versions)

    def plant(self, data: bytes) -> None:
        """Replace the state file (a new file, as an editor or a copy would make)."""
        planted = self.path.with_name("planted")
        planted.write_bytes(data)
        os.replace(planted, self.path)

    def record_and_crash(self) -> None:
        """A child process records, then dies holding the lock."""
        process = self.workers.start("record-and-die", str(self.path))
        assert process.wait() == 0

    @contextlib.contextmanager
    def hold_lock_elsewhere(self, command: str) -> Iterator[None]:
        """A child process holds the lock (its command is the worker's own)."""
        process = self.workers.start("hold-lock", str(self.path), "600", command)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "LOCKED"
        try:
            yield
        finally:
            process.kill()
            process.wait()


class MemoryFactory:
    """One MemoryState; other parties are other threads of this process."""

    cross_process = False

    def __init__(self) -> None:
        self.state = MemoryState("contract")

    def open(self, *, keep_versions: int = 5) -> StateStore:
        """A MemoryStateStore on the shared state."""
        return MemoryStateStore(self.state, keep_versions=keep_versions)

    def plant(self, data: bytes) -> None:
        """Replace the document's bytes."""
        self.state.plant(data)

    def record_and_crash(self) -> None:
        """Record in a session that is dropped, never ended; then its holder dies."""
        session = MemoryStateStore(self.state).lock("apply --crash-trial").__enter__()
        record_then_die(session)
        self.state.holder_died()

    def hold_lock_elsewhere(self, command: str) -> contextlib.AbstractContextManager[None]:
        """Another thread holds the lock."""
        return contextlib.contextmanager(threads_holding)(self.open(), command)


class PostgresFactory:
    """A key of its own in the test server's schema; other parties are other processes, each
    with its own connection (kill -9 of one frees its lock when the server ends its backend)."""

    cross_process = True

    def __init__(self, workers: Workers) -> None:
        self.url, self.schema, self.key = pg.require_server(), pg.TEST_SCHEMA, pg.new_key()
        self.workers = workers
        self.store().init()

    def store(self, keep_versions: int = 5) -> PostgresStateStore:
        """A PostgresStateStore on this test's key."""
        return PostgresStateStore(
            self.url, self.key, schema=self.schema, keep_versions=keep_versions
        )

    def open(self, *, keep_versions: int = 5) -> StateStore:
        """A store on the key."""
        return self.store(keep_versions)

    def plant(self, data: bytes) -> None:
        """Replace the document's bytes (another program's UPDATE)."""
        self.store().plant(data)

    def record_and_crash(self) -> None:
        """A child process records, then dies (os._exit) holding the lock."""
        process = self.workers.start("pg-record-and-die", self.url, self.schema, self.key)
        assert process.stdout is not None
        word, backend = process.stdout.readline().split()
        assert word == "DYING"
        process.wait()
        pg.wait_backend_gone(self.url, int(backend))

    @contextlib.contextmanager
    def hold_lock_elsewhere(self, command: str) -> Iterator[None]:
        """A child process holds the lock; killed with SIGKILL at the end."""
        args = ("pg-hold-lock", self.url, self.schema, self.key, command)
        process = self.workers.start(*args)
        assert process.stdout is not None
        word, backend = process.stdout.readline().split()
        assert word == "LOCKED"
        try:
            yield
        finally:
            process.kill()
            process.wait()
            pg.wait_backend_gone(self.url, int(backend))

    def close(self) -> None:
        """Delete the key's rows."""
        pg.drop_key(self.url, self.schema, self.key)


FACTORIES = {"local": LocalFactory, "memory": MemoryFactory, "postgres": PostgresFactory}


@pytest.fixture(params=sorted(FACTORIES))
def store_factory(request: pytest.FixtureRequest, tmp_path: Path, workers: Workers) -> object:
    """Each backend in turn, on a fresh state."""
    if request.param == "local":
        return LocalFactory(tmp_path, workers)
    if request.param == "postgres":
        factory = PostgresFactory(workers)
        request.addfinalizer(factory.close)
        return factory
    return MemoryFactory()


class TestEveryStore(StoreContract):
    """The contract, for each backend of FACTORIES."""
