"""Kept state versions: one before each command's first write, pruned to N; restore writes one
back as the next serial of its lineage, with the journal folded in and nothing lost."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.errors import StateError, StateLockedError
from rmapply.state import LocalStateStore, StateDocument, journal_path, versions_path
from tests.state.conftest import NOW, Workers, make_record
from tests.state.test_traces import leave_journal


def command(path: Path, *addresses: str, keep: int = 5) -> StateDocument:
    """One command (its own store) writing the state with ``addresses`` added."""
    with LocalStateStore(path, keep_versions=keep).lock("test") as session:
        document = session.document
        for address in addresses:
            document.resources[address] = make_record(address, remote_id=f"id-{address}")
        session.save(document)
        return document


def kept(path: Path) -> list[str]:
    """The names in the versions folder, oldest first."""
    folder = versions_path(path)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def serial_of(name: str) -> int:
    return int(name.removesuffix(".json").rpartition("-")[2])


def test_a_new_state_is_kept_as_a_version_right_after_its_first_write(state_path):
    command(state_path, "jobs.a")
    assert [serial_of(name) for name in kept(state_path)] == [1]
    assert (versions_path(state_path) / kept(state_path)[0]).read_bytes() == (
        state_path.read_bytes()
    )


def test_a_command_keeps_one_version_before_its_first_write_only(state_path):
    command(state_path, "jobs.a")
    command(state_path, "jobs.b")
    before = state_path.read_bytes()
    store = LocalStateStore(state_path)
    with store.lock("apply") as session:
        for n in range(4):  # an apply with four checkpoints
            seq = session.journal.intent(f"jobs.n{n}", "create", now=NOW)
            session.journal.result(seq, upsert=make_record(f"jobs.n{n}"), now=NOW)
            session.checkpoint()
    assert json.loads(state_path.read_bytes())["serial"] == 6
    names = kept(state_path)
    assert [serial_of(name) for name in names] == [1, 2]
    version = versions_path(state_path) / names[-1]
    assert version.read_bytes() == before
    assert os.stat(version).st_mode & 0o777 == 0o600


def test_versions_are_pruned_to_the_newest_n(state_path):
    for n in range(7):
        command(state_path, f"jobs.n{n}", keep=3)
    assert [serial_of(name) for name in kept(state_path)] == [4, 5, 6]


def test_versions_lists_kept_versions_then_the_backup(state_path):
    command(state_path, "jobs.a")
    document = command(state_path, "jobs.b")
    command(state_path, "jobs.c")
    listed = LocalStateStore(state_path).versions()
    assert [(v.name.rpartition("-")[2], v.serial, v.resources) for v in listed] == [
        ("1", 1, 1),
        ("2", 2, 2),
        ("backup", 2, 2),
    ]
    assert {v.lineage for v in listed} == {document.lineage}


def test_restore_writes_the_version_back_as_the_next_serial_of_its_lineage(state_path):
    command(state_path, "jobs.a")
    command(state_path, "jobs.b")
    lineage = command(state_path, "jobs.c").lineage
    current = state_path.read_bytes()
    oldest = LocalStateStore(state_path).versions()[0]
    restored = LocalStateStore(state_path).restore(oldest.name)
    document = LocalStateStore(state_path).load()
    assert (sorted(document.resources), document.serial, document.lineage) == (
        ["jobs.a"],
        4,
        lineage,
    )
    assert (restored.source, restored.serial, restored.kept) == (
        oldest.name,
        4,
        versions_path(state_path) / kept(state_path)[-1],
    )
    assert json.loads(restored.kept.read_bytes()) == json.loads(current)
    assert (state_path.parent / "state.json.backup").read_bytes() == current


def test_restore_refuses_a_version_of_another_lineage_unless_allowed(state_path, tmp_path):
    other = tmp_path / "other" / "state.json"
    command(other, "jobs.x")
    command(other, "jobs.y")
    command(state_path, "jobs.a")
    command(state_path, "jobs.b")
    foreign = versions_path(other) / kept(other)[0]
    shutil.copy(foreign, versions_path(state_path) / "20000101T000000.000000Z-serial-1.json")
    before = state_path.read_bytes()
    store = LocalStateStore(state_path)
    with pytest.raises(StateError, match="belongs to another state") as refused:
        store.restore("20000101T000000.000000Z-serial-1")
    assert "--allow-other-lineage" in str(refused.value.hint)
    assert state_path.read_bytes() == before
    store.restore("20000101T000000.000000Z-serial-1", allow_other_lineage=True)
    assert sorted(store.load().resources) == ["jobs.x"]


def test_restore_after_the_state_file_was_deleted_replays_the_journal_onto_the_backup(
    state_path,
):
    command(state_path, "jobs.a")
    document = command(state_path, "jobs.b")
    leave_journal(state_path, document, "jobs.c")
    backup = (state_path.parent / "state.json.backup").read_bytes()
    state_path.unlink()
    restored = LocalStateStore(state_path).restore(now=NOW)
    assert (restored.source, restored.source_serial, restored.serial) == ("backup", 1, 3)
    assert (restored.replayed, restored.gap) == (2, (1, 2))
    after = LocalStateStore(state_path).load()
    assert sorted(after.resources) == ["jobs.a", "jobs.c"]
    assert after.lineage == document.lineage
    assert not journal_path(state_path).exists()
    assert restored.journal_set_aside is not None and restored.journal_set_aside.exists()
    assert (state_path.parent / "state.json.backup").read_bytes() == backup


def test_restore_of_the_journal_alone_keeps_its_changes(state_path):
    document = command(state_path, "jobs.a")
    leave_journal(state_path, document, "jobs.b")
    state_path.unlink()
    shutil.rmtree(versions_path(state_path))
    with pytest.raises(StateError, match="no readable state version"):
        LocalStateStore(state_path).restore()
    restored = LocalStateStore(state_path).restore("journal")
    after = LocalStateStore(state_path).load()
    assert (sorted(after.resources), after.serial, restored.source) == (["jobs.b"], 2, "journal")


def test_restore_of_an_unknown_version_names_the_kept_ones(state_path):
    command(state_path, "jobs.a")
    command(state_path, "jobs.b")
    with pytest.raises(StateError, match=r"no kept state version 'nope'.*kept: .*serial-1, backup"):
        LocalStateStore(state_path).restore("nope")


def test_restore_accepts_a_serial_or_a_path_copied_from_a_message(state_path):
    command(state_path, "jobs.a")
    command(state_path, "jobs.b")
    command(state_path, "jobs.c")
    LocalStateStore(state_path).restore("1")
    assert sorted(LocalStateStore(state_path).load().resources) == ["jobs.a"]
    LocalStateStore(state_path).restore(f"{state_path}.backup")
    assert sorted(LocalStateStore(state_path).load().resources) == ["jobs.a", "jobs.b", "jobs.c"]
    LocalStateStore(state_path).restore(str(versions_path(state_path) / kept(state_path)[1]))
    assert sorted(LocalStateStore(state_path).load().resources) == ["jobs.a", "jobs.b"]


def test_restore_over_a_refused_state_file_keeps_it_as_found(state_path):
    command(state_path, "jobs.a")
    command(state_path, "jobs.b")
    state_path.write_text('{"version": 1, "resources": ', encoding="utf-8")
    restored = LocalStateStore(state_path).restore("backup")
    assert restored.kept is not None and restored.kept.name.endswith("-unreadable.json")
    assert restored.kept.read_text("utf-8") == '{"version": 1, "resources": '
    assert sorted(LocalStateStore(state_path).load().resources) == ["jobs.a"]


def test_restore_refuses_while_another_process_holds_the_lock(state_path, workers: Workers):
    command(state_path, "jobs.a")
    command(state_path, "jobs.b")
    before = state_path.read_bytes()
    holder = workers.hold_lock(state_path)
    with pytest.raises(StateLockedError):
        LocalStateStore(state_path).restore("backup")
    assert state_path.read_bytes() == before
    holder.kill()


commands = st.lists(
    st.lists(st.sampled_from(["jobs.a", "jobs.b", "jobs.c", "workspaces.w"]), max_size=3),
    min_size=2,
    max_size=6,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=commands, pick=st.integers(min_value=0))
def test_restore_round_trip_gives_the_same_resources_at_the_next_serial(
    history: list[list[str]], pick: int
) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "state.json"
        for addresses in history:
            command(path, *addresses)
        lineage = LocalStateStore(path).load().lineage
        versions = LocalStateStore(path).versions()
        chosen = versions[pick % len(versions)]
        source = StateDocument.model_validate_json(chosen.path.read_bytes())
        highest = max(len(history), *(v.serial or 0 for v in versions))
        LocalStateStore(path).restore(chosen.name)
        after = LocalStateStore(path).load()
        assert after.resources == source.resources
        assert (after.serial, after.lineage) == (highest + 1, lineage)
    finally:
        shutil.rmtree(folder)
