"""The journal: intents and results appended and fsynced, replayed by whoever loads next."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from rmapply.errors import StateCorruptError
from rmapply.state import LocalStateStore, PendingOperation
from tests.state.conftest import NOW, make_record


def crash_copy(state_path: Path, folder: Path) -> LocalStateStore:
    """The disk as it is now, as if the writer died this instant: a store on a copy of it."""
    folder.mkdir()
    for name in ("state.json", "state.json.journal", "state.json.backup"):
        if (state_path.parent / name).exists():
            shutil.copy2(state_path.parent / name, folder / name)
    return LocalStateStore(folder / "state.json")


def journal_lines(state_path: Path) -> list[dict]:
    return [
        json.loads(line)
        for line in state_path.with_name("state.json.journal").read_text().splitlines()
    ]


def test_intent_and_result_are_appended_as_json_lines(store, state_path):
    with store.lock("apply") as session:
        seq = session.journal.intent(
            "jobs.site-a",
            "create",
            request_digest="sha256:abc",
            details={"name": "site-a"},
            now=NOW,
        )
        session.journal.result(seq, upsert=make_record("jobs.site-a"), now=NOW)
        lines = journal_lines(state_path)
        assert os.stat(state_path.with_name("state.json.journal")).st_mode & 0o777 == 0o600
    assert [line["kind"] for line in lines] == ["journal", "intent", "result"]
    assert lines[0]["base_serial"] == 0
    assert lines[1] == {
        "kind": "intent",
        "seq": 1,
        "address": "jobs.site-a",
        "action": "create",
        "request_digest": "sha256:abc",
        "details": {"name": "site-a"},
        "at": "2024-06-01T12:00:00Z",
    }
    assert lines[2]["outcome"] == "ok" and lines[2]["upsert"]["remote_id"] == "job-1"


def test_session_document_follows_recorded_results(store):
    with store.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "create")
        assert "jobs.site-a" not in session.document.resources
        session.journal.result(seq, upsert=make_record("jobs.site-a"))
        assert session.document.resources["jobs.site-a"] == make_record("jobs.site-a")
        seq = session.journal.intent("jobs.site-a", "delete")
        session.journal.result(seq, remove="jobs.site-a")
        assert session.document.resources == {}


def test_acknowledged_results_survive_a_crash_before_any_checkpoint(store, state_path, tmp_path):
    with store.lock("apply") as session:
        for n in range(3):
            seq = session.journal.intent(f"jobs.j{n}", "create")
            session.journal.result(seq, upsert=make_record(f"jobs.j{n}", f"r{n}"))
        crashed = crash_copy(state_path, tmp_path / "crashed")
    assert not crashed.path.exists()  # never checkpointed: only the journal exists
    assert crashed.exists()
    assert sorted(crashed.load().resources) == ["jobs.j0", "jobs.j1", "jobs.j2"]


def test_intent_without_result_becomes_a_pending_operation(store, state_path, tmp_path):
    with store.lock("apply") as session:
        session.journal.intent(
            "jobs.site-a",
            "create",
            request_digest="sha256:abc",
            details={"name": "site-a"},
            now=NOW,
        )
        crashed = crash_copy(state_path, tmp_path / "crashed")
    assert crashed.load().pending == {
        "jobs.site-a": PendingOperation(
            address="jobs.site-a",
            action="create",
            request_digest="sha256:abc",
            sent_at=NOW,
            details={"name": "site-a"},
            journal_seq=1,
        )
    }
    assert crashed.load().resources == {}


def test_result_with_unknown_outcome_keeps_the_intent_pending(store):
    with store.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "submit", details={"id": "job-1"}, now=NOW)
        session.journal.result(seq, outcome="unknown", error="read timed out", now=NOW)
    pending = store.load().pending["jobs.site-a"]
    assert (pending.action, pending.details, pending.sent_at) == ("submit", {"id": "job-1"}, NOW)


def test_ending_the_session_turns_open_intents_into_pending_operations(store):
    with store.lock("apply") as session:
        session.journal.intent("jobs.site-a", "create", now=NOW)
    assert not store.journal_path.exists()
    assert list(store.load().pending) == ["jobs.site-a"]


def test_resolve_drops_the_pending_operation_and_adopts_the_job(store):
    with store.lock("apply") as session:
        session.journal.intent("jobs.site-a", "create", now=NOW)
    with store.lock("apply") as session:
        assert list(session.document.pending) == ["jobs.site-a"]
        session.journal.resolve("jobs.site-a", upsert=make_record("jobs.site-a", "adopted"))
    document = store.load()
    assert document.pending == {}
    assert document.resources["jobs.site-a"].remote_id == "adopted"


def test_checkpoint_rewrites_state_and_removes_journal(store, state_path):
    with store.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-a"))
        session.checkpoint()
        assert not store.journal_path.exists()
        assert json.loads(state_path.read_bytes())["serial"] == 1
        session.checkpoint()  # nothing new: no write
        assert json.loads(state_path.read_bytes())["serial"] == 1
        seq = session.journal.intent("jobs.site-b", "create")
        assert journal_lines(state_path)[0]["base_serial"] == 1
        session.journal.result(seq, upsert=make_record("jobs.site-b"))
    assert store.load().serial == 2
    assert not store.journal_path.exists()


def test_checkpoint_carries_open_intents_into_the_fresh_journal(store, state_path, tmp_path):
    with store.lock("apply") as session:
        first = session.journal.intent("jobs.site-a", "create")
        second = session.journal.intent("jobs.site-b", "create")
        session.journal.result(second, upsert=make_record("jobs.site-b"))
        session.checkpoint()
        lines = journal_lines(state_path)
        assert [(line["kind"], line.get("seq")) for line in lines] == [
            ("journal", None),
            ("intent", first),
        ]
        crashed = crash_copy(state_path, tmp_path / "crashed")
        session.journal.result(first, upsert=make_record("jobs.site-a"))
    assert list(crashed.load().pending) == ["jobs.site-a"]
    assert sorted(store.load().resources) == ["jobs.site-a", "jobs.site-b"]
    assert store.load().pending == {}


def test_crash_between_state_write_and_journal_reset_keeps_results_and_open_intents(
    store, state_path, tmp_path
):
    with store.lock("apply") as session:
        open_seq = session.journal.intent("jobs.site-a", "create", now=NOW)
        seq = session.journal.intent("jobs.site-b", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-b"))
        old_journal = store.journal_path.read_bytes()
        session.checkpoint()
        crashed = crash_copy(state_path, tmp_path / "crashed")
        crashed.journal_path.write_bytes(old_journal)  # the journal was not reset yet
        session.journal.result(open_seq, outcome="failed", error="422")
    document = crashed.load()
    assert (document.serial, sorted(document.resources)) == (1, ["jobs.site-b"])
    assert list(document.pending) == ["jobs.site-a"]
    with crashed.lock("apply") as session:
        assert list(session.document.pending) == ["jobs.site-a"]
    assert crashed.load().serial == 2


def test_writer_replays_a_leftover_journal_and_checkpoints_under_the_lock(
    store, state_path, tmp_path
):
    with store.lock("apply") as session:
        session.save(session.document)
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-a"))
        crashed = crash_copy(state_path, tmp_path / "crashed")
    assert crashed.load().serial == 1  # read-only: replayed in memory, nothing written
    assert crashed.journal_path.exists()
    with crashed.lock("plan -out") as session:
        assert list(session.document.resources) == ["jobs.site-a"]
        assert not crashed.journal_path.exists()
        assert json.loads(crashed.path.read_bytes())["serial"] == 2


def test_torn_last_line_is_ignored(store, state_path, tmp_path):
    with store.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-a"))
        crashed = crash_copy(state_path, tmp_path / "crashed")
    with crashed.journal_path.open("ab") as journal:
        journal.write(b'{"kind":"intent","seq":2,"address":"jobs.si')
    assert list(crashed.load().resources) == ["jobs.site-a"]
    assert crashed.load().pending == {}
    with crashed.lock("apply") as session:
        seq = session.journal.intent("jobs.site-b", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-b"))
    assert sorted(crashed.load().resources) == ["jobs.site-a", "jobs.site-b"]


def test_journal_with_only_a_torn_header_holds_nothing(store, state_path):
    store.journal_path.write_bytes(b'{"kind":"journal","format":1,"lin')
    assert not store.exists()
    assert store.load().resources == {}
    with store.lock("apply"):
        assert not store.journal_path.exists()


def test_corrupt_line_in_the_middle_is_an_error_naming_the_line(store, state_path, tmp_path):
    with store.lock("apply") as session:
        for n in range(2):
            seq = session.journal.intent(f"jobs.j{n}", "create")
            session.journal.result(seq, upsert=make_record(f"jobs.j{n}"))
        crashed = crash_copy(state_path, tmp_path / "crashed")
    lines = crashed.journal_path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"outcome":"ok"', b'"outcome":"maybe"')
    damaged = b"\n".join(lines)
    crashed.journal_path.write_bytes(damaged)
    for attempt in (crashed.load, lambda: crashed.lock("apply").__enter__()):
        with pytest.raises(StateCorruptError) as caught:
            attempt()
        assert caught.value.message == (
            f"journal {crashed.journal_path} line 3: not a journal record "
            "(result.outcome: Input should be 'ok', 'failed' or 'unknown')"
        )
        assert caught.value.hint == (
            "the journal holds changes that are not yet in the state file and was not changed; "
            "fix or delete line 3 by hand (moving the whole journal aside forgets the changes it "
            "holds; see docs/state.md#recovery)"
        )
    assert crashed.journal_path.read_bytes() == damaged


def test_result_without_its_intent_in_the_journal_is_an_error(store, state_path):
    with store.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-a"))
        lines = store.journal_path.read_bytes().split(b"\n")
    store.journal_path.write_bytes(b"\n".join([lines[0], lines[2], b""]))
    with pytest.raises(StateCorruptError) as caught:
        store.load()
    assert (
        caught.value.message
        == f"journal {store.journal_path} line 2: result 1 has no open intent before it"
    )


def test_journal_of_another_state_is_refused(store, state_path, tmp_path):
    other = LocalStateStore(tmp_path / "other" / "state.json")
    with other.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-a"))
        journal = other.journal_path.read_bytes()
        theirs = session.document.lineage
    with store.lock("apply") as session:
        session.save(session.document)
        ours = session.document.lineage
    store.journal_path.write_bytes(journal)
    with pytest.raises(StateCorruptError) as caught:
        store.load()
    assert caught.value.message == (
        f"journal {store.journal_path} belongs to another state (lineage {theirs}); "
        f"state file {state_path} has lineage {ours}"
    )


def test_result_for_a_seq_that_is_not_open_is_a_programming_error(store):
    with store.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, outcome="failed")
        with pytest.raises(ValueError, match="seq 1, which is not an open intent"):
            session.journal.result(seq, outcome="ok")


def test_journal_refuses_records_after_the_session_ended(store):
    with store.lock("apply") as session:
        journal = session.journal
    with pytest.raises(ValueError, match="the state session has ended"):
        journal.intent("jobs.site-a", "create")


def test_journal_older_than_the_state_file_only_adds_its_open_intents(store, state_path, tmp_path):
    with store.lock("apply") as session:
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-a", "first"))
        session.journal.intent("jobs.site-b", "create", now=NOW)
        older_journal = store.journal_path.read_bytes()  # base serial 0
        seq = session.journal.intent("jobs.site-a", "replace")
        session.journal.result(seq, upsert=make_record("jobs.site-a", "second"))
        session.checkpoint()  # serial 1 holds "second"
        crashed = crash_copy(state_path, tmp_path / "crashed")
    crashed.journal_path.write_bytes(older_journal)  # as read by a reader racing that checkpoint
    document = crashed.load()
    assert document.resources["jobs.site-a"].remote_id == "second"  # not rolled back to "first"
    assert list(document.pending) == ["jobs.site-b"]


def test_journal_newer_than_a_restored_state_file_is_replayed_onto_it(store, state_path, tmp_path):
    with store.lock("apply") as session:
        session.save(session.document)  # serial 1
        session.save(session.document)  # serial 2; the backup holds serial 1
        seq = session.journal.intent("jobs.site-a", "create")
        session.journal.result(seq, upsert=make_record("jobs.site-a"))
        crashed = crash_copy(state_path, tmp_path / "crashed")
    shutil.copy2(crashed.path.with_name("state.json.backup"), crashed.path)  # the user restores
    assert json.loads(crashed.path.read_bytes())["serial"] == 1
    assert list(crashed.load().resources) == ["jobs.site-a"]
    with crashed.lock("apply") as session:
        assert list(session.document.resources) == ["jobs.site-a"]


def test_workers_recording_at_the_same_time_lose_nothing(store, state_path, tmp_path):
    def record(worker: int) -> None:
        for n in range(25):
            address = f"jobs.w{worker}-{n}"
            seq = session.journal.intent(address, "create")
            session.journal.result(seq, upsert=make_record(address, f"{worker}-{n}"))

    with store.lock("apply") as session:
        threads = [threading.Thread(target=record, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        crashed = crash_copy(state_path, tmp_path / "crashed")
        assert len(session.document.resources) == 100
    assert crashed.load().resources == store.load().resources
    assert len(store.load().resources) == 100
