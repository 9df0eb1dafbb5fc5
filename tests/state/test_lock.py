"""The state lock: one writer at a time, a clear message naming the holder, freed on death."""

from __future__ import annotations

import getpass
import os
import signal
import socket

import filelock
import pytest

from rmapply.errors import StateLockedError
from rmapply.state import LocalStateStore, read_holder
from tests.state.conftest import NOW, make_record

HINT = (
    "wait for that command to finish, or let this one wait with --lock-timeout SECONDS; the lock"
    " is freed by the OS as soon as that process ends (see docs/state.md#lock)"
)


def holder_text(pid: int, command: str, since: str) -> str:
    return (
        f"pid {pid} on {socket.gethostname()} (user {getpass.getuser()}, command {command!r}, "
        f"since {since})"
    )


def test_second_writer_fails_at_once_naming_the_holder(store, state_path):
    second_writer = LocalStateStore(state_path)
    with (
        store.lock("apply", now=NOW),
        pytest.raises(StateLockedError) as caught,
        second_writer.lock("state rm"),
    ):
        pass
    assert caught.value.message == (
        f"state file {state_path} is locked by "
        + holder_text(os.getpid(), "apply", "2024-06-01T12:00:00Z")
    )
    assert caught.value.hint == HINT
    assert caught.value.holder == {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "command": "apply",
        "since": "2024-06-01T12:00:00Z",
    }


def test_writer_with_timeout_gives_up_naming_the_holder(store, state_path, workers):
    holder = workers.hold_lock(state_path)
    recorded = read_holder(state_path)
    assert recorded is not None and recorded.pid == holder.pid
    with pytest.raises(StateLockedError) as caught, store.lock("apply", timeout=0.2):
        pass
    assert caught.value.message == (
        f"state file {state_path} is locked by "
        + holder_text(holder.pid, "apply --test", recorded.since)
        + "; gave up after waiting 0.2 s"
    )


def test_writer_waits_for_the_lock_up_to_its_timeout(store, state_path, workers):
    holder = workers.hold_lock(state_path, "0.3")  # releases the lock by itself after 0.3 s
    with store.lock("apply", timeout=60) as session:
        assert session.document.serial == 0
    assert holder.wait(timeout=60) == 0


def test_lock_is_released_when_its_holder_is_killed(store, state_path, workers):
    holder = workers.hold_lock(state_path)
    with pytest.raises(StateLockedError), store.lock("apply"):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    with store.lock("apply") as session:  # at once: no stale lock to break
        assert session.document.resources == {}


def test_read_only_load_works_while_a_writer_holds_the_lock(store, state_path, workers):
    with store.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-a"))
        session.checkpoint()
    workers.hold_lock(state_path)
    assert list(store.load().resources) == ["jobs.site-a"]


def test_holder_file_is_removed_when_the_lock_is_released(store, state_path):
    with store.lock("apply"):
        assert state_path.with_name("state.json.lock.info").exists()
    assert not state_path.with_name("state.json.lock.info").exists()
    assert read_holder(state_path) is None


def test_lock_is_released_when_the_block_raises(store, state_path):
    with pytest.raises(RuntimeError), store.lock("apply"):
        raise RuntimeError("boom")
    with store.lock("apply"):
        pass


def test_locked_error_without_holder_file_says_so(store, state_path):
    other = filelock.FileLock(state_path.with_name("state.json.lock"), thread_local=False)
    with other.acquire(blocking=False), pytest.raises(StateLockedError) as caught, store.lock("x"):
        pass
    assert caught.value.message == (
        f"state file {state_path} is locked by another process (its holder file is missing)"
    )
    assert caught.value.holder == {}
