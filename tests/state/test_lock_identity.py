"""A deleted or replaced lock file or journal: the lock counts only on the file at the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rmapply.errors import StateError, StateLockedError
from rmapply.state import LocalStateStore, read_holder
from rmapply.state import journal_writer as journal_module
from rmapply.state.journal import journal_path
from rmapply.state.lock import StateLock, holder_path, identity_at, lock_path
from tests.state.conftest import NOW, make_record


def replace_file(path: Path) -> None:
    """What ``rm PATH`` and another program creating PATH again do."""
    path.unlink()
    path.write_bytes(b"")


def test_writer_stops_recording_once_its_lock_file_is_deleted(store, state_path):
    with pytest.raises(StateError) as caught, store.lock("apply") as session:
        seq = session.journal.intent("jobs.a", "create")
        session.journal.result(seq, upsert=make_record("jobs.a", "job-a"))
        lock_path(state_path).unlink()
        session.journal.intent("jobs.b", "create")
    assert caught.value.message == (
        f"the lock file {lock_path(state_path)} was deleted or replaced while this command held "
        f"it, so another rmapply may now be writing state file {state_path}; stopped before "
        "sending anything more"
    )
    assert "never delete the lock file" in (caught.value.hint or "")
    # nothing after the loss was written: neither the intent nor a checkpoint of the state
    journal = journal_path(state_path).read_text()
    assert '"jobs.b"' not in journal
    assert not state_path.exists()
    assert "then saving the state failed too" in "".join(caught.value.__notes__)


def test_writer_whose_lock_file_was_replaced_leaves_the_new_holder_alone(store, state_path):
    second = StateLock(state_path)
    with pytest.raises(StateError), store.lock("apply") as session:
        session.journal.intent("jobs.a", "create")
        lock_path(state_path).unlink()
        second.acquire("apply")  # another rmapply: it locks a new lock file at the path
        session.journal.intent("jobs.b", "create")
    # the first writer neither wrote the state file nor removed the second one's holder file
    assert not state_path.exists()
    holder = read_holder(state_path)
    assert holder is not None and holder.command == "apply"
    assert holder_path(state_path).exists()
    second.check_held()  # the second one still holds its lock
    second.release()
    assert not holder_path(state_path).exists()


def test_lost_lock_is_noticed_after_the_line_is_written_too(store, state_path, monkeypatch):
    # the lock file goes while the intent line is being written: the call must not be sent
    def write_while_the_lock_file_goes(fd: int, data: bytes) -> None:
        monkeypatch.undo()
        lock_path(state_path).unlink()
        journal_module.write_all(fd, data)

    with pytest.raises(StateError) as caught, store.lock("apply") as session:
        session.journal.intent("jobs.a", "create")
        monkeypatch.setattr(journal_module, "write_all", write_while_the_lock_file_goes)
        session.journal.intent("jobs.b", "create")
        pytest.fail("the intent was acknowledged: its call would be sent")  # pragma: no cover
    assert caught.value.message.startswith(f"the lock file {lock_path(state_path)} was deleted")
    assert not state_path.exists()


def test_writer_stops_when_its_journal_is_deleted(store, state_path):
    with pytest.raises(StateError) as caught, store.lock("apply") as session:
        session.journal.intent("jobs.a", "create")
        journal_path(state_path).unlink()
        session.journal.intent("jobs.b", "create")
    assert caught.value.message == (
        f"journal {journal_path(state_path)} was deleted or replaced by another program while "
        "this command was writing it; stopped before sending anything more"
    )
    # the lock is still ours: what the session knows goes to the state file, the open intent
    # as a pending operation, and the refused one nowhere
    saved = LocalStateStore(state_path).load()
    assert list(saved.pending) == ["jobs.a"]


def test_writer_stops_when_its_journal_is_replaced(store, state_path):
    with pytest.raises(StateError) as caught, store.lock("apply") as session:
        session.journal.intent("jobs.a", "create")
        replace_file(journal_path(state_path))
        session.journal.result(1, upsert=make_record("jobs.a", "job-a"))
    assert caught.value.message.startswith(f"journal {journal_path(state_path)} was deleted")
    # the lock is still ours: the result the session learned is kept in the state file
    saved = LocalStateStore(state_path).load()
    assert saved.resources["jobs.a"].remote_id == "job-a"
    assert saved.pending == {}


def test_every_record_after_a_loss_is_refused(store, state_path):
    with pytest.raises(StateError), store.lock("apply") as session:
        session.journal.intent("jobs.a", "create")
        lock_path(state_path).unlink()
        with pytest.raises(StateError):
            session.journal.intent("jobs.b", "create")
        lock_path(state_path).write_bytes(b"")  # even if a file is put back at the path
        session.journal.intent("jobs.c", "create")


def test_lock_taken_on_a_file_deleted_meanwhile_is_taken_again_on_the_new_file(
    state_path, monkeypatch
):
    # between opening the lock file and locking it, another program replaces it
    lock = StateLock(state_path)
    real_take = StateLock._take
    takes = []

    def take_then_replace(self, timeout, remaining):
        real_take(self, timeout, remaining)
        takes.append(identity_at(lock_path(state_path)))
        if len(takes) == 1:
            replace_file(lock_path(state_path))

    monkeypatch.setattr(StateLock, "_take", take_then_replace)
    lock.acquire("apply")
    assert len(takes) == 2
    assert lock.identity == identity_at(lock_path(state_path)) != takes[0]
    monkeypatch.undo()
    # the file now at the path is the one really locked: a second writer is refused
    with pytest.raises(StateLockedError):
        StateLock(state_path).acquire("state rm")
    lock.release()


def test_lock_file_replaced_again_and_again_is_an_error(state_path, monkeypatch):
    real_take = StateLock._take

    def take_then_replace(self, timeout, remaining):
        real_take(self, timeout, remaining)
        replace_file(lock_path(state_path))

    monkeypatch.setattr(StateLock, "_take", take_then_replace)
    with pytest.raises(StateError) as caught:
        StateLock(state_path).acquire("apply")
    assert caught.value.message == (
        f"cannot lock state file {state_path}: its lock file {lock_path(state_path)} was "
        "deleted or replaced 5 times while this command was taking it"
    )
    monkeypatch.undo()
    StateLock(state_path).acquire("apply")  # nothing is left locked by the failed attempts


def test_a_writer_after_the_one_whose_lock_was_lost_replays_its_journal(store, state_path):
    with pytest.raises(StateError), store.lock("apply", now=NOW) as session:
        seq = session.journal.intent("jobs.a", "create")
        session.journal.result(seq, upsert=make_record("jobs.a", "job-a"))
        session.journal.intent("jobs.b", "create", details={"name": "b"})
        os.unlink(lock_path(state_path))
        session.journal.intent("jobs.c", "create")
    # nothing the first writer acknowledged is lost: the next writer replays its journal
    with LocalStateStore(state_path).lock("apply") as session:
        assert session.document.resources["jobs.a"].remote_id == "job-a"
        assert list(session.document.pending) == ["jobs.b"]
