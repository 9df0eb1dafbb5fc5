"""A missing or empty state file beside traces of an earlier state is refused by every read and
every writer, naming the traces and the restore command; nothing is changed while refusing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rmapply.errors import StateCorruptError, StateTracesError
from rmapply.state import Journal, LocalStateStore, StateDocument, journal_path, versions_path
from tests.state.conftest import NOW, make_record


def save(store: LocalStateStore, *addresses: str) -> StateDocument:
    """One command writing a document holding ``addresses`` (a store serves one command)."""
    command = LocalStateStore(
        store.path,
        keep_versions=store.keep_versions,
        ignore_previous_state=store.ignore_previous_state,
    )
    with command.lock("test") as session:
        document = session.document
        for address in addresses:
            document.resources[address] = make_record(address, remote_id=f"id-{address}")
        session.save(document)
        return document


def leave_journal(state_path: Path, document: StateDocument, *addresses: str) -> None:
    """A journal extending ``document`` with a create of each address, as a killed apply leaves."""
    journal = Journal(journal_path(state_path), document.model_copy(deep=True))
    for address in addresses:
        seq = journal.intent(address, "create", request_digest="sha256:x", now=NOW)
        journal.result(seq, upsert=make_record(address, remote_id=f"id-{address}"), now=NOW)
    journal.close()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of ``folder`` (lock files aside) with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".lock" not in p.name
    }


def refused(store: LocalStateStore, state_path: Path) -> StateTracesError:
    """Every read and every writer refuses with the same error, and changes nothing."""
    before = snapshot(state_path.parent)
    with pytest.raises(StateTracesError) as by_load:
        store.load()
    with pytest.raises(StateTracesError) as by_lock, store.lock("apply"):
        pass  # pragma: no cover (the lock refuses before the block runs)
    with pytest.raises(StateTracesError):
        store.check_traces()
    assert snapshot(state_path.parent) == before
    assert by_load.value.message == by_lock.value.message
    return by_load.value


def test_deleted_state_file_beside_a_journal_of_a_written_state_is_refused(store, state_path):
    document = save(store, "jobs.a")
    leave_journal(state_path, document, "jobs.b")
    state_path.unlink()
    shutil.rmtree(versions_path(state_path))  # the journal alone
    error = refused(store, state_path)
    assert error.message.splitlines() == [
        f"state file {state_path} is missing, but traces of an earlier state are beside it; "
        "nothing was read or changed:",
        f"  {journal_path(state_path)}: 2 record(s) written after serial 1 of lineage "
        f"{document.lineage}",
    ]
    assert error.hint == (
        f"if you have a copy of {state_path} at serial 1 (version control, a snapshot), put it "
        "back first: the journal is replayed onto it; no readable state version is kept, so "
        "'rmapply state restore journal' can only rebuild the changes of the journal; or "
        "run the command again with --ignore-previous-state to start from an empty state "
        f"knowingly (the traces are then moved into {versions_path(state_path)}; see "
        "docs/state.md#recovery)"
    )
    assert error.exit_code == 1


def test_deleted_state_file_beside_its_backup_is_refused_naming_what_restore_brings_back(
    store, state_path
):
    save(store, "jobs.a")
    save(store, "jobs.b")  # the backup now holds serial 1, with jobs.a
    state_path.unlink()
    error = refused(store, state_path)
    assert error.message.splitlines()[1].startswith(
        f"  {state_path}.backup: backup (serial 1, lineage "
    )
    assert "'rmapply state restore' restores backup (serial 1, 1 resource)" in str(error.hint)


def test_empty_state_file_beside_kept_versions_is_refused(store, state_path):
    save(store, "jobs.a")
    save(store, "jobs.b")  # a second command: serial 1 kept as a version
    (state_path.parent / "state.json.backup").unlink()
    state_path.write_bytes(b"")
    error = refused(store, state_path)
    assert error.message.startswith(f"state file {state_path} is empty, but traces")
    assert f"{versions_path(state_path)}/" in error.message
    assert state_path.read_bytes() == b""


def test_empty_state_file_without_traces_is_refused_as_empty(store, state_path):
    state_path.write_bytes(b"")
    with pytest.raises(StateCorruptError, match="is empty"):
        store.load()


def test_journal_of_a_first_apply_killed_before_its_first_checkpoint_is_replayed(store, state_path):
    leave_journal(state_path, StateDocument(), "jobs.a")
    assert sorted(store.load().resources) == ["jobs.a"]
    with store.lock("apply") as session:
        assert sorted(session.document.resources) == ["jobs.a"]
    assert json.loads(state_path.read_bytes())["serial"] == 1


def test_lock_files_alone_are_not_traces_of_an_earlier_state(store, state_path):
    with store.lock("apply"):
        pass
    (state_path.parent / "state.json.lock.info").write_text("{}", encoding="utf-8")
    assert store.load().serial == 0
    assert not store.find_traces().orphaned
    save(store, "jobs.a")
    assert store.load().serial == 1


def test_ignore_previous_state_starts_empty_and_moves_the_traces_into_the_versions_folder(
    state_path,
):
    first = LocalStateStore(state_path)
    document = save(first, "jobs.a")
    save(first, "jobs.b")
    leave_journal(state_path, first.load(), "jobs.c")
    backup = (state_path.parent / "state.json.backup").read_bytes()
    state_path.unlink()
    store = LocalStateStore(state_path, ignore_previous_state=True)
    assert store.load().resources == {}
    assert not store.exists()
    save(store, "jobs.new")
    after = store.load()
    assert (sorted(after.resources), after.serial) == (["jobs.new"], 1)
    assert after.lineage != document.lineage
    kept = sorted(p.name for p in versions_path(state_path).iterdir())
    # serial 1 kept as new, the journal and the backup moved there, the new state kept as new
    assert [name.split("-", 1)[1] for name in kept] == [
        "serial-1.json",
        "journal-serial-2.jsonl",
        "serial-1.json",
        "serial-1.json",
    ]
    assert (versions_path(state_path) / kept[2]).read_bytes() == backup
    assert not journal_path(state_path).exists()
    assert not (state_path.parent / "state.json.backup").exists()


def test_ignore_previous_state_changes_nothing_beside_a_state_file(store, state_path):
    save(store, "jobs.a")
    ignoring = LocalStateStore(state_path, ignore_previous_state=True)
    assert sorted(ignoring.load().resources) == ["jobs.a"]
    assert ignoring.exists()
