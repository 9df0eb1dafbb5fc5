"""The state file: atomic writes, backup, mode, serial, lineage and refusal of doubtful files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rmapply.errors import StateCorruptError, StateError, StateVersionError
from rmapply.state import LocalStateStore, StateDocument
from rmapply.state import atomic as atomic_module
from rmapply.state.statefile import decode_state, encode_state
from tests.state.conftest import make_record


def save(store: LocalStateStore, *addresses: str) -> StateDocument:
    """Write a document holding ``addresses`` through a writer session."""
    with store.lock("test") as session:
        document = session.document
        for address in addresses:
            document.resources[address] = make_record(address)
        session.save(document)
        return document


def test_first_write_creates_state_file_with_mode_0600_and_serial_1(store, state_path):
    save(store, "jobs.site-a")
    assert os.stat(state_path).st_mode & 0o777 == 0o600
    assert json.loads(state_path.read_bytes())["serial"] == 1
    assert store.load().resources["jobs.site-a"] == make_record("jobs.site-a")


def test_every_write_increments_serial_and_keeps_lineage(store, state_path):
    save(store, "jobs.a")
    lineage = store.load().lineage
    save(store, "jobs.b")
    save(store, "jobs.c")
    document = store.load()
    assert (document.serial, document.lineage) == (3, lineage)
    assert sorted(document.resources) == ["jobs.a", "jobs.b", "jobs.c"]


def test_write_keeps_previous_version_as_backup_with_mode_0600(store, state_path):
    save(store, "jobs.a")
    first = state_path.read_bytes()
    save(store, "jobs.b")
    backup = state_path.with_name("state.json.backup")
    assert backup.read_bytes() == first
    assert os.stat(backup).st_mode & 0o777 == 0o600
    assert json.loads(backup.read_bytes())["serial"] == 1


def test_first_write_leaves_no_backup(store, state_path):
    save(store, "jobs.a")
    assert sorted(p.name for p in state_path.parent.iterdir()) == [
        "state.json",
        "state.json.lock",
        "state.json.versions",  # the new state kept as a version (docs/state.md#versions)
    ]


def test_failed_rename_leaves_old_file_and_backup_intact(store, state_path, monkeypatch):
    save(store, "jobs.a")
    save(store, "jobs.b")
    before, backup_before = (
        state_path.read_bytes(),
        (state_path.parent / "state.json.backup").read_bytes(),
    )
    real_replace = os.replace

    def crash_before_rename(src, dst):
        if Path(dst) == state_path:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(atomic_module.os, "replace", crash_before_rename)
    with pytest.raises(StateError) as caught:
        save(store, "jobs.c")
    assert caught.value.message == f"cannot write state file {state_path}: No space left on device"
    assert caught.value.hint == (
        "the previous state file and its backup are intact; check free disk space and the "
        "folder's permissions, then run the command again"
    )
    monkeypatch.undo()
    assert state_path.read_bytes() == before
    assert (state_path.parent / "state.json.backup").read_bytes() == backup_before
    assert not list(state_path.parent.glob(".*.tmp"))


def test_ctrl_c_just_after_the_rename_leaves_the_session_writing_on(store, state_path, monkeypatch):
    real_replace = os.replace

    def ctrl_c_after_rename(src, dst):
        real_replace(src, dst)
        if Path(dst) == state_path:
            raise KeyboardInterrupt  # as Ctrl-C lands between the rename and its bookkeeping

    with store.lock("test") as session:
        session.document.resources["jobs.a"] = make_record("jobs.a")
        monkeypatch.setattr(atomic_module.os, "replace", ctrl_c_after_rename)
        with pytest.raises(KeyboardInterrupt):
            session.save(session.document)
        monkeypatch.undo()
        # its own file, not another program's: the next write goes on (it was refused)
        session.document.resources["jobs.b"] = make_record("jobs.b")
        session.save(session.document)
    written = json.loads(state_path.read_bytes())
    assert (written["serial"], sorted(written["resources"])) == (2, ["jobs.a", "jobs.b"])


def test_next_writer_removes_temporary_files_left_by_a_crash(store, state_path):
    save(store, "jobs.a")
    leftover = state_path.parent / ".state.json.abc123.tmp"
    leftover.write_text("half written")
    save(store, "jobs.b")
    assert not leftover.exists()


def test_load_without_state_file_gives_an_empty_document(store):
    document = store.load()
    assert (document.serial, document.resources, document.pending) == (0, {}, {})
    assert not store.exists()


def corrupt_hint(state_path: Path) -> str:
    backup = state_path.with_name("state.json.backup")
    return (
        f"the file was not changed; the previous version is kept in {backup}: if it reads "
        "well, bring it back with 'rmapply state restore backup' (the refused file is kept "
        "among the versions; see docs/state.md#recovery)"
    )


def test_state_file_that_is_not_json_is_refused_naming_file_and_backup(store, state_path):
    save(store, "jobs.a")
    save(store, "jobs.b")
    state_path.write_bytes(b'{"version": 1, "lineage": ')
    with pytest.raises(StateCorruptError) as caught:
        store.load()
    assert caught.value.message == (
        f"state file {state_path} is not valid JSON (line 1, column 27: Expecting value)"
    )
    assert caught.value.hint == corrupt_hint(state_path)


def test_state_file_failing_its_schema_lists_every_problem(store, state_path):
    save(store, "jobs.a")
    raw = json.loads(state_path.read_bytes())
    raw["serial"] = "seven"
    del raw["resources"]["jobs.a"]["remote_id"]
    state_path.write_text(json.dumps(raw))
    with pytest.raises(StateCorruptError) as caught:
        store.load()
    assert caught.value.message == (
        f"state file {state_path} does not match the state format:\n"
        "  serial: Input should be a valid integer, unable to parse string as an integer\n"
        "  resources.jobs.a.remote_id: Field required"
    )


def test_record_filed_under_another_address_is_refused(store, state_path):
    save(store, "jobs.a")
    raw = json.loads(state_path.read_bytes())
    raw["resources"]["jobs.b"] = raw["resources"].pop("jobs.a")
    state_path.write_text(json.dumps(raw))
    with pytest.raises(StateCorruptError) as caught:
        store.load()
    assert caught.value.message == (
        f"state file {state_path} does not match the state format:\n"
        "  resources.jobs.b.address: is 'jobs.a', expected 'jobs.b'"
    )


def test_empty_state_file_is_refused(store, state_path):
    state_path.write_bytes(b"")
    with pytest.raises(StateCorruptError) as caught:
        store.load()
    assert caught.value.message == f"state file {state_path} is empty"
    assert caught.value.hint == (
        f"the file was not changed and no backup ({state_path}.backup) exists; fix the file by "
        "hand or restore it from version control (see docs/state.md#recovery)"
    )


def test_state_file_of_a_newer_format_version_is_refused(store, state_path):
    save(store, "jobs.a")
    raw = json.loads(state_path.read_bytes())
    raw["version"] = 3
    raw["future_field"] = {"anything": True}
    state_path.write_text(json.dumps(raw))
    with pytest.raises(StateVersionError) as caught:
        store.load()
    assert caught.value.message == (
        f"state file {state_path} has format version 3, but this rmapply reads format version 2 "
        "at most"
    )
    assert (
        caught.value.hint
        == "upgrade rmapply to the version that wrote it; the file was not changed"
    )


@pytest.mark.parametrize(
    "content", [b"not json", b'{"version": 99}', b'{"version": 1, "lineage": 3}', b"[]"]
)
def test_writer_never_overwrites_a_refused_file_nor_its_backup(store, state_path, content):
    save(store, "jobs.a")
    save(store, "jobs.b")
    backup = state_path.with_name("state.json.backup").read_bytes()
    state_path.write_bytes(content)
    with pytest.raises(StateError) as caught, store.lock("apply"):
        pass
    assert state_path.read_bytes() == content
    assert state_path.with_name("state.json.backup").read_bytes() == backup
    # the refusal released the lock: the next writer is refused for the same reason
    with pytest.raises(StateError) as again, store.lock("apply"):
        pass
    assert (type(again.value), again.value.message) == (type(caught.value), caught.value.message)


def test_state_file_changed_behind_the_writers_back_is_not_overwritten(store, state_path):
    save(store, "jobs.a")
    with pytest.raises(StateError) as caught, store.lock("apply") as session:
        state_path.write_text(state_path.read_text() + " ")  # an editor, not rmapply
        seq = session.journal.intent("jobs.b", "create")
        session.journal.result(seq, upsert=make_record("jobs.b"))
        session.checkpoint()
    assert caught.value.message == (
        f"state file {state_path} was changed by another program during this command; it was "
        "not overwritten"
    )
    assert state_path.read_text().endswith("}\n ")
    assert "jobs.b" in store.load().resources  # kept in the journal, nothing lost


def test_a_read_state_equals_the_json_validation_of_its_file(store, state_path):
    """Objects parsed from the file are handed to the records as they are: same document."""
    save(store, "jobs.a")
    save(store, "workspaces.w")
    data = state_path.read_bytes()
    document = decode_state(state_path, data)
    assert document == StateDocument.model_validate_json(data)
    assert encode_state(document) == data


def test_a_spec_that_is_not_an_object_is_refused_with_the_json_words(store, state_path):
    save(store, "jobs.a")
    raw = json.loads(state_path.read_bytes())
    raw["resources"]["jobs.a"]["spec"] = [1]
    raw["resources"]["jobs.a"]["remote"] = "gone"
    state_path.write_text(json.dumps(raw))
    with pytest.raises(StateCorruptError) as caught:
        store.load()
    assert caught.value.message == (
        f"state file {state_path} does not match the state format:\n"
        "  resources.jobs.a.spec: Input should be an object\n"
        "  resources.jobs.a.remote: Input should be an object"
    )


def test_a_record_built_in_code_copies_its_spec():
    """Only a document just parsed from JSON keeps its objects; a record made by code owns
    copies (a later change of the caller's dict must not reach it)."""
    spec = {"name": "a", "type": "Full"}
    record = make_record("jobs.a", spec=spec)
    spec["name"] = "changed"
    assert record.spec == {"name": "a", "type": "Full"}
