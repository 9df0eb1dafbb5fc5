"""Invariants: save/load round-trips; replaying the journal equals applying results directly."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.state import (
    LocalStateStore,
    PendingOperation,
    ReplacedId,
    ResourceRecord,
    StateDocument,
)
from tests.state.conftest import NOW

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(text, json_values, max_size=4)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
keys = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)
addresses = st.builds(
    lambda kind, key: f"{kind}.{key}", st.sampled_from(["jobs", "workspaces"]), keys
)


@st.composite
def records(draw: st.DrawFn, address: str | None = None) -> ResourceRecord:
    where = address or draw(addresses)
    return ResourceRecord(
        address=where,
        kind="job" if where.startswith("jobs.") else "workspace",
        remote_id=draw(text),
        spec=draw(json_objects),
        digest=draw(text),
        workspace_id=draw(st.none() | text),
        remote=draw(st.none() | json_objects),
        outputs=draw(st.dictionaries(text, text, max_size=3)),
        created_at=draw(moments),
        updated_at=draw(moments),
        refreshed_at=draw(st.none() | moments),
        history=draw(
            st.lists(st.builds(ReplacedId, id=text, replaced_at=moments, reason=text), max_size=2)
        ),
    )


@st.composite
def documents(draw: st.DrawFn) -> StateDocument:
    chosen = draw(st.lists(addresses, unique=True, max_size=6))
    pending_at = draw(st.lists(addresses, unique=True, max_size=3))
    return StateDocument(
        resources={address: draw(records(address)) for address in chosen},
        pending={
            address: PendingOperation(
                address=address,
                action=draw(st.sampled_from(["create", "submit", "delete"])),
                request_digest=draw(text),
                sent_at=draw(moments),
                details=draw(json_objects),
                journal_seq=draw(st.none() | st.integers(1, 1000)),
            )
            for address in pending_at
        },
    )


FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(documents())
def test_state_saved_then_loaded_is_the_same_document(document):
    with tempfile.TemporaryDirectory() as folder:
        store = LocalStateStore(Path(folder) / "state.json")
        with store.lock("test") as session:
            document.lineage = session.document.lineage
            session.save(document)
        loaded = store.load()
    assert loaded.model_dump() == document.model_dump()
    assert loaded.serial == 1


# one step of an apply: a call with its result ("open" = the process dies before the result),
# a resolution of a pending operation, or a checkpoint
small_addresses = st.sampled_from(["jobs.a", "jobs.b", "workspaces.w"])
steps = st.one_of(
    st.tuples(
        st.just("call"),
        small_addresses,
        st.sampled_from(["upsert", "remove", "failed", "unknown", "open"]),
    ),
    st.tuples(st.just("resolve"), small_addresses, st.sampled_from(["adopt", "drop"])),
    st.tuples(st.just("checkpoint"), st.just(""), st.just("")),
)


def intent_as_pending(address: str, seq: int) -> PendingOperation:
    """What the intent ``seq`` recorded below becomes when its outcome is unknown."""
    return PendingOperation(
        address=address,
        action="call",
        request_digest="sha256:x",
        sent_at=NOW,
        details={"address": address},
        journal_seq=seq,
    )


@FEW
@given(st.lists(steps, max_size=14), st.data())
def test_replaying_the_journal_equals_applying_results_directly(plan, data):
    resources: dict[str, ResourceRecord] = {}
    pending: dict[str, PendingOperation] = {}
    still_open: list[tuple[str, int]] = []
    with tempfile.TemporaryDirectory() as folder:
        store = LocalStateStore(Path(folder) / "state.json")
        with store.lock("apply") as session:
            for kind, address, how in plan:
                if kind == "checkpoint":
                    session.checkpoint()
                    continue
                record = data.draw(records(address))
                if kind == "resolve":
                    adopted = record if how == "adopt" else None
                    session.journal.resolve(address, upsert=adopted)
                    pending.pop(address, None)
                    if adopted:
                        resources[address] = adopted
                    continue
                seq = session.journal.intent(
                    address,
                    "call",
                    request_digest="sha256:x",
                    details={"address": address},
                    now=NOW,
                )
                intent = intent_as_pending(address, seq)
                if how == "open":
                    still_open.append((address, seq))
                    continue
                if how == "upsert":
                    session.journal.result(seq, upsert=record)
                    resources[address] = record
                elif how == "remove":
                    session.journal.result(seq, remove=address)
                    resources.pop(address, None)
                elif how == "unknown":
                    session.journal.result(seq, outcome="unknown")
                    pending[address] = intent
                else:
                    session.journal.result(seq, outcome="failed", error="422 InvalidChange")
            expected_pending = dict(pending)
            for address, seq in still_open:  # a crash now leaves them of unknown outcome
                expected_pending[address] = intent_as_pending(address, seq)
            # applied directly: the writer's document (open intents are not pending while in flight)
            assert session.document.resources == resources
            assert session.document.pending == pending
            # replayed: the disk as it is this instant, loaded by a fresh reader
            crashed = Path(folder) / "crashed"
            crashed.mkdir()
            for name in ("state.json", "state.json.journal"):
                if (Path(folder) / name).exists():
                    shutil.copy2(Path(folder) / name, crashed / name)
            replayed = LocalStateStore(crashed / "state.json").load()
        closed = store.load()
    assert replayed.resources == resources
    assert replayed.pending == expected_pending
    assert (closed.resources, closed.pending) == (resources, expected_pending)
