"""The contract every StateStore keeps: one suite of cases, run for every backend.

A backend joins by adding a :class:`StoreFactory` to ``FACTORIES`` in test_store_contract.py
(the way Terraform's statemgr tests every backend with one suite). Cases marked
``cross_process`` put the other party in another process where the backend supports it
(``StoreFactory.cross_process``), else in another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

import pytest

from rmapply.errors import (
    StateCorruptError,
    StateEndpointMismatchError,
    StateError,
    StateLockedError,
    StateVersionError,
)
from rmapply.state import (
    STATE_FORMAT_VERSION,
    Binding,
    BoundStateStore,
    StateDocument,
    StateStore,
)
from rmapply.state.lease import lease_lock
from rmapply.state.statefile import encode_state
from rmapply.state.versions import BACKUP
from tests.state.conftest import make_record
from tests.state.workers import CRASHED_INTENT, CRASHED_RESULT


class StoreFactory(Protocol):
    """How the contract reaches one backend; every store it opens holds the same state."""

    cross_process: bool  # True: lock holders and crashes are other processes

    def open(self, *, keep_versions: int = 5) -> StateStore:
        """A store on this test's state (each call: another command on the same state)."""
        ...

    def plant(self, data: bytes) -> None:
        """Put ``data`` where the state document is kept, as another program would."""
        ...

    def record_and_crash(self) -> None:
        """Run tests.state.workers.record_then_die in a writer that then dies holding the lock."""
        ...

    def hold_lock_elsewhere(self, command: str) -> AbstractContextManager[None]:
        """Another process (or thread) holds the lock running ``command`` until the block ends."""
        ...


def _write(store: StateStore, document: StateDocument, command: str = "state mv") -> None:
    with store.lock(command) as session:
        document.lineage = session.document.lineage
        session.save(document)


def _kept(store: StateStore) -> list[int | None]:
    """The serials of the kept versions (the file backend lists its backup besides them)."""
    return [v.serial for v in store.versions() if v.name != BACKUP]


def _with(*addresses: str) -> StateDocument:
    records = [make_record(a, remote_id=f"id-{a}") for a in addresses]
    return StateDocument(resources={r.address: r for r in records})


class StoreContract:
    """The cases; ``store_factory`` is parametrised over every backend."""

    def test_a_missing_state_loads_empty_and_does_not_exist(self, store_factory: StoreFactory):
        store = store_factory.open()
        document = store.load()
        assert (document.serial, document.resources, document.pending) == (0, {}, {})
        assert not store.exists()

    def test_a_saved_state_loads_back_as_written(self, store_factory: StoreFactory):
        _write(store_factory.open(), _with("jobs.a", "workspaces.w"))
        loaded = store_factory.open().load()
        assert loaded.resources == _with("jobs.a", "workspaces.w").resources
        assert store_factory.open().exists()

    def test_each_write_adds_one_to_the_serial_in_the_same_lineage(self, store_factory):
        serials, lineages = [], set()
        for n in range(3):
            _write(store_factory.open(), _with(*(f"jobs.j{i}" for i in range(n + 1))))
            loaded = store_factory.open().load()
            serials.append(loaded.serial)
            lineages.add(loaded.lineage)
        assert serials == [1, 2, 3]
        assert len(lineages) == 1

    def test_a_second_lock_fails_naming_the_holder(self, store_factory: StoreFactory):
        with (
            store_factory.open().lock("apply"),
            pytest.raises(StateLockedError, match="apply") as refused,
            store_factory.open().lock("plan --out"),
        ):
            pytest.fail("two writers held the lock")
        assert refused.value.holder["command"] == "apply"
        with store_factory.open().lock("plan --out"):  # free again once the holder ended
            pass

    def test_a_leased_lock_lets_another_writer_in_while_released_and_reads_it_when_retaken(
        self, store_factory: StoreFactory
    ):
        with lease_lock(store_factory.open(), "apply --wait") as leased:
            seq = leased.journal.intent("jobs.a", "create")
            leased.journal.result(seq, upsert=make_record("jobs.a", remote_id="id-a"))
            with pytest.raises(StateLockedError, match="apply --wait"):
                store_factory.open().lock("apply").__enter__()
            leased.release()
            assert store_factory.open().load().resources["jobs.a"].remote_id == "id-a"
            assert sorted(leased.document.resources) == ["jobs.a"]  # read while released
            with store_factory.open().lock("apply") as other:  # the lock is free meanwhile
                seq = other.journal.intent("jobs.b", "create")
                other.journal.result(seq, upsert=make_record("jobs.b", remote_id="id-b"))
            leased.retake()
            assert sorted(leased.document.resources) == ["jobs.a", "jobs.b"]
            seq = leased.journal.intent("jobs.c", "create")
            leased.journal.result(seq, upsert=make_record("jobs.c", remote_id="id-c"))
        assert sorted(store_factory.open().load().resources) == ["jobs.a", "jobs.b", "jobs.c"]
        assert leased.released_count == 1

    @pytest.mark.cross_process
    def test_a_lock_held_elsewhere_is_refused_naming_its_holder(self, store_factory):
        with store_factory.hold_lock_elsewhere("apply --elsewhere"):
            with (
                pytest.raises(StateLockedError, match="apply --elsewhere"),
                store_factory.open().lock("apply"),
            ):
                pytest.fail("two writers held the lock")
            assert store_factory.open().load().serial == 0  # reading needs no lock
        with store_factory.open().lock("apply"):
            pass

    @pytest.mark.cross_process
    def test_calls_recorded_before_a_crash_are_replayed_by_the_next_load(self, store_factory):
        _write(store_factory.open(), _with("jobs.before"))
        store_factory.record_and_crash()
        loaded = store_factory.open().load()
        assert set(loaded.resources) == {"jobs.before", CRASHED_RESULT}
        assert set(loaded.pending) == {CRASHED_INTENT}
        with store_factory.open().lock("apply") as session:  # the next writer keeps them too
            assert set(session.document.pending) == {CRASHED_INTENT}
        again = store_factory.open().load()
        assert set(again.resources) == {"jobs.before", CRASHED_RESULT}
        assert set(again.pending) == {CRASHED_INTENT}
        assert again.serial > loaded.serial

    @pytest.mark.cross_process
    def test_a_journal_of_another_lineage_is_refused(self, store_factory: StoreFactory):
        store_factory.record_and_crash()
        store_factory.plant(encode_state(StateDocument(serial=3)))  # another state altogether
        with pytest.raises(StateCorruptError, match="belongs to another state"):
            store_factory.open().load()
        with (
            pytest.raises(StateCorruptError, match="belongs to another state"),
            store_factory.open().lock("apply"),
        ):
            pytest.fail("a writer took a state with another lineage's journal")

    def test_a_write_based_on_an_old_serial_is_refused(self, store_factory: StoreFactory):
        _write(store_factory.open(), _with("jobs.a"))
        written_elsewhere = _with("jobs.elsewhere")
        with (
            pytest.raises(StateError, match="changed by another program"),
            store_factory.open().lock("apply") as session,
        ):
            written_elsewhere.lineage = session.document.lineage
            written_elsewhere.serial = 7
            store_factory.plant(encode_state(written_elsewhere))
            mine = _with("jobs.mine")
            mine.lineage = session.document.lineage
            session.save(mine)
        loaded = store_factory.open().load()
        assert (loaded.serial, set(loaded.resources)) == (7, {"jobs.elsewhere"})

    def test_a_version_is_kept_before_each_commands_first_write(self, store_factory):
        _write(store_factory.open(), _with("jobs.a"))
        assert _kept(store_factory.open()) == [1]
        store = store_factory.open()
        _write(store, _with("jobs.b"))
        _write(store, _with("jobs.c"))  # the same command again: nothing more kept
        assert _kept(store_factory.open()) == [1]
        _write(store_factory.open(), _with("jobs.d"))
        assert _kept(store_factory.open()) == [1, 3]

    def test_versions_beyond_the_kept_number_are_dropped_oldest_first(self, store_factory):
        for n in range(4):
            _write(store_factory.open(keep_versions=2), _with(f"jobs.j{n}"))
        assert _kept(store_factory.open()) == [2, 3]

    def test_restore_writes_a_version_back_as_the_next_serial_of_its_lineage(self, store_factory):
        _write(store_factory.open(), _with("jobs.first"))
        _write(store_factory.open(), _with("jobs.second"))
        _write(store_factory.open(), _with("jobs.third"))
        lineage = store_factory.open().load().lineage
        first = next(v for v in store_factory.open().versions() if v.serial == 1)
        restored = store_factory.open().restore(first.name)
        assert (restored.serial, restored.lineage, restored.source_serial) == (4, lineage, 1)
        loaded = store_factory.open().load()
        assert (loaded.serial, loaded.lineage, set(loaded.resources)) == (
            4,
            lineage,
            {"jobs.first"},
        )

    def test_restore_of_an_unknown_version_changes_nothing(self, store_factory: StoreFactory):
        _write(store_factory.open(), _with("jobs.a"))
        with pytest.raises(StateError, match="no kept state version 'serial-99'"):
            store_factory.open().restore("serial-99")
        assert store_factory.open().load().serial == 1

    @pytest.mark.parametrize("data", [b"{not json", b'{"lineage": 7}'], ids=["syntax", "schema"])
    def test_a_corrupt_document_is_refused_and_left_as_it_is(self, store_factory, data):
        store_factory.plant(data)
        with pytest.raises(StateCorruptError):
            store_factory.open().load()
        with pytest.raises(StateCorruptError), store_factory.open().lock("apply"):
            pytest.fail("a writer took a corrupt state")
        with pytest.raises(StateCorruptError):  # still there, not replaced by an empty state
            store_factory.open().load()

    def test_a_document_of_a_newer_format_is_refused(self, store_factory: StoreFactory):
        newer = StateDocument(version=STATE_FORMAT_VERSION + 1, serial=4)
        store_factory.plant(encode_state(newer))
        with pytest.raises(StateVersionError, match="reads format version"):
            store_factory.open().load()
        with pytest.raises(StateVersionError), store_factory.open().lock("apply"):
            pytest.fail("a writer took a state of a newer format")

    def test_a_new_state_takes_the_lineage_handed_over_by_a_saved_plan(self, store_factory):
        with store_factory.open().lock("apply") as session:
            session.adopt_lineage("lineage-of-the-saved-plan")
            seq = session.journal.intent("jobs.a", "create")
            session.journal.result(seq, upsert=make_record("jobs.a"))
        loaded = store_factory.open().load()
        assert (loaded.lineage, set(loaded.resources)) == ("lineage-of-the-saved-plan", {"jobs.a"})

    def test_a_written_state_refuses_another_lineage(self, store_factory: StoreFactory):
        _write(store_factory.open(), _with("jobs.a"))
        lineage = store_factory.open().load().lineage
        with store_factory.open().lock("apply") as session:
            session.adopt_lineage(lineage)  # its own: nothing to hand over
            with pytest.raises(ValueError, match="cannot hand lineage"):
                session.adopt_lineage("another-lineage")
        assert store_factory.open().load().lineage == lineage

    def test_a_save_while_a_call_is_in_flight_is_refused_and_writes_nothing(self, store_factory):
        _write(store_factory.open(), _with("jobs.a"))
        with store_factory.open().lock("state mv") as session:
            session.journal.intent("jobs.b", "create")
            replacement = _with("jobs.replacement")
            replacement.lineage = session.document.lineage
            with pytest.raises(ValueError, match="cannot replace the state while calls are in"):
                session.save(replacement)
        loaded = store_factory.open().load()
        assert (set(loaded.resources), set(loaded.pending)) == ({"jobs.a"}, {"jobs.b"})

    def test_an_error_in_the_lock_stays_the_one_raised_and_a_failed_save_is_noted_on_it(
        self, store_factory
    ):
        _write(store_factory.open(), _with("jobs.a"))
        elsewhere = _with("jobs.elsewhere")
        with (
            pytest.raises(RuntimeError, match="the command's own error") as raised,
            store_factory.open().lock("apply") as session,
        ):
            session.journal.intent("jobs.b", "create")  # leaves something to save at close
            elsewhere.lineage, elsewhere.serial = session.document.lineage, 7
            store_factory.plant(encode_state(elsewhere))
            raise RuntimeError("the command's own error")
        notes = getattr(raised.value, "__notes__", [])
        assert len(notes) == 1
        assert notes[0].startswith("then saving the state failed too: ")
        assert "changed by another program" in notes[0]
        assert set(store_factory.open().load().resources) == {"jobs.elsewhere"}

    def test_workers_recording_from_several_threads_lose_nothing(self, store_factory):
        addresses = [f"jobs.w{worker}-{n}" for worker in range(6) for n in range(15)]
        with store_factory.open().lock("apply") as session:

            def work(worker: int) -> None:
                for address in addresses[worker * 15 : (worker + 1) * 15]:
                    seq = session.journal.intent(address, "create")
                    with session.lock:  # a consistent view while the others record
                        copy = session.document.model_copy(deep=True)
                    assert address not in copy.resources
                    session.journal.result(seq, upsert=make_record(address, remote_id=address))

            threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert session.journal.open_intents == {}
        loaded = store_factory.open().load()
        assert set(loaded.resources) == set(addresses)
        assert {r.remote_id for r in loaded.resources.values()} == set(addresses)

    def test_a_bound_store_refuses_a_state_bound_to_another_endpoint(self, store_factory):
        here = Binding("https://api.example.com/contextcapture")
        with BoundStateStore(store_factory.open(), here).lock("apply") as session:
            seq = session.journal.intent("jobs.a", "create")
            session.journal.result(seq, upsert=make_record("jobs.a"))
        assert BoundStateStore(store_factory.open(), here).load().endpoint == here.endpoint
        elsewhere = BoundStateStore(store_factory.open(), Binding("https://other.example.com"))
        with pytest.raises(StateEndpointMismatchError, match="belongs to endpoint"):
            elsewhere.load()
        with pytest.raises(StateEndpointMismatchError), elsewhere.lock("apply"):
            pytest.fail("a writer took a state bound elsewhere")


def threads_holding(store: StateStore, command: str) -> Iterator[None]:
    """Hold ``store``'s lock in another thread while the caller's block runs."""
    taken, done = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def hold() -> None:
        try:
            with store.lock(command):
                taken.set()
                done.wait()
        except BaseException as exc:  # reported in the caller's thread
            failure.append(exc)
            taken.set()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait()
    try:
        if failure:
            raise failure[0]
        yield
    finally:
        done.set()
        thread.join()
