"""Invariant: whatever apply records, the memory store holds what the state file holds."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.state import LocalStateStore, StateDocument, StateSession
from rmapply.state.memory import MemoryState, MemoryStateStore
from tests.state.conftest import NOW
from tests.state.test_properties import records, steps


def _record(session: StateSession, step: tuple[str, str, str], record: object) -> None:
    """One step of an apply on ``session`` (see test_properties.steps)."""
    kind, address, how = step
    if kind == "checkpoint":
        session.checkpoint()
    elif kind == "resolve":
        session.journal.resolve(address, upsert=record if how == "adopt" else None)  # type: ignore[arg-type]
    else:
        seq = session.journal.intent(address, "call", details={"address": address}, now=NOW)
        if how == "upsert":
            session.journal.result(seq, upsert=record, now=NOW)  # type: ignore[arg-type]
        elif how == "remove":
            session.journal.result(seq, remove=address, now=NOW)
        elif how in ("unknown", "failed"):
            session.journal.result(seq, outcome=how, now=NOW)


def _held(document: StateDocument) -> tuple[object, ...]:
    return (document.serial, document.resources, document.pending)


def _crashed_copy(state: MemoryState) -> MemoryStateStore:
    """A store on what ``state`` holds this instant (as a process killed now leaves it)."""
    copy = MemoryState("crashed")
    copy.document, copy.journal = state.document, state.journal
    return MemoryStateStore(copy)


# more examples than test_properties: a checkpoint between an open intent and the crash is rare
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, max_size=14), st.data())
def test_the_memory_store_holds_what_the_state_file_holds(plan, data):
    memory = MemoryState()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.json"
        local = LocalStateStore(path)
        with local.lock("apply") as on_file, MemoryStateStore(memory).lock("apply") as in_memory:
            in_memory.adopt_lineage(on_file.document.lineage)
            for step in plan:
                record = data.draw(records(step[1])) if step[0] != "checkpoint" else None
                _record(on_file, step, record)
                _record(in_memory, step, record)
            crashed = Path(folder) / "crashed"
            crashed.mkdir()
            for name in ("state.json", "state.json.journal"):
                if (Path(folder) / name).exists():
                    shutil.copy2(Path(folder) / name, crashed / name)
            replayed_file = LocalStateStore(crashed / "state.json").load()
            replayed_memory = _crashed_copy(memory).load()
        assert _held(replayed_memory) == _held(replayed_file)
        assert _held(MemoryStateStore(memory).load()) == _held(local.load())
