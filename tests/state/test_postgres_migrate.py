"""``rmapply state migrate`` as a round trip, for generated states: a local state moved into
PostgreSQL and copied back to a file is the same state, with the same history; a state of
another lineage is never overwritten, in either direction."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.errors import StateError
from rmapply.state import LocalStateStore, StateDocument
from rmapply.state.backends import marker_path
from rmapply.state.migrate import copy_to_file, migrate_to_database
from rmapply.state.postgres import PostgresStateStore
from rmapply.state.versions import kept_versions
from tests.state import pg
from tests.state.test_properties import documents

FEW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
histories = st.lists(documents(), min_size=1, max_size=4)  # the states one after the other


@pytest.fixture
def pg_url() -> str:
    """The test server's URL (skips, or fails under RMAPPLY_REQUIRE_PG=1, when unreachable)."""
    return pg.require_server()


@contextmanager
def _database(url: str) -> Iterator[PostgresStateStore]:
    """A store on a key of its own, deleted afterwards (one per generated example)."""
    store = PostgresStateStore(url, pg.new_key(), schema=pg.TEST_SCHEMA)
    try:
        yield store
    finally:
        pg.drop_key(url, pg.TEST_SCHEMA, store.key)


def _local_history(path: Path, history: list[StateDocument]) -> None:
    """Write each document in turn, each by a command of its own (each keeps a version)."""
    for document in history:
        with LocalStateStore(path).lock("state mv") as session:
            document.lineage = session.document.lineage
            session.save(document)


def _history(path: Path) -> list[tuple[str, int | None, str | None, int | None, bytes]]:
    """The kept versions beside ``path``: name, serial, lineage, resources, bytes."""
    return [
        (v.name, v.serial, v.lineage, v.resources, v.path.read_bytes()) for v in kept_versions(path)
    ]


@FEW
@given(history=histories)
def test_a_state_moved_into_postgres_and_copied_back_is_the_same_with_its_history(pg_url, history):
    with tempfile.TemporaryDirectory() as folder, _database(pg_url) as store:
        source = Path(folder) / "here" / "rmapply.state.json"
        source.parent.mkdir()
        _local_history(source, history)
        before, versions = source.read_bytes(), _history(source)
        original = LocalStateStore(source).load()

        moved = migrate_to_database(LocalStateStore(source), store)
        back = Path(folder) / "back" / "rmapply.state.json"
        back.parent.mkdir()
        copied = copy_to_file(store, back)

        assert back.read_bytes() == before  # the same document, byte for byte
        returned = LocalStateStore(back).load()
        assert (returned.lineage, returned.serial) == (original.lineage, original.serial)
        assert (moved.serial, copied.serial) == (original.serial, original.serial)
        assert _history(back) == versions  # the same kept versions, names and bytes
        assert (moved.versions, copied.versions) == (len(versions), len(versions))
        assert [v.name for v in store.versions()] == [v[0] for v in versions]


@FEW
@given(history=histories, other=documents())
def test_migrate_never_overwrites_a_state_of_another_lineage(pg_url, history, other):
    with tempfile.TemporaryDirectory() as folder, _database(pg_url) as store:
        first = Path(folder) / "first" / "rmapply.state.json"
        second = Path(folder) / "second" / "rmapply.state.json"
        first.parent.mkdir(), second.parent.mkdir()
        _local_history(first, history)
        _local_history(second, [other])
        migrate_to_database(LocalStateStore(first), store)
        there = store.load().model_dump()
        kept_there = [v.name for v in store.versions()]
        theirs = second.read_bytes()

        with pytest.raises(StateError, match="holds another state"):  # into the database
            migrate_to_database(LocalStateStore(second), store)
        assert store.load().model_dump() == there
        assert [v.name for v in store.versions()] == kept_there
        assert second.read_bytes() == theirs and not marker_path(second).exists()

        with pytest.raises(StateError, match="holds another state"):  # back to a file
            copy_to_file(store, second)
        assert second.read_bytes() == theirs
        assert {v[2] for v in _history(second)} == {other.lineage}  # nothing copied in
