"""`rmapply state` operations: list, show, rm, mv, forget-intent (writers under the lock)."""

from __future__ import annotations

import json

import pytest

from rmapply.errors import StateError, StateLockedError
from rmapply.state import (
    forget_intent,
    forget_resource,
    list_addresses,
    list_pending,
    move_resource,
    show_record,
)
from tests.state.conftest import NOW, make_record


@pytest.fixture
def filled(store):
    """A store with two jobs and a workspace, and a pending create at jobs.site-c."""
    with store.lock("apply") as session:
        for address in ("jobs.site-b", "jobs.site-a", "workspaces.main"):
            seq = session.journal.intent(address, "create")
            session.journal.result(seq, upsert=make_record(address))
        session.journal.intent("jobs.site-c", "create", details={"name": "site-c"}, now=NOW)
    return store


def test_list_gives_sorted_addresses_and_pending_operations(filled):
    assert list_addresses(filled) == ["jobs.site-a", "jobs.site-b", "workspaces.main"]
    assert [p.address for p in list_pending(filled)] == ["jobs.site-c"]


def test_show_gives_the_record(filled):
    assert show_record(filled, "jobs.site-a") == make_record("jobs.site-a")


def test_show_of_a_missing_address_suggests_a_close_one(filled, state_path):
    with pytest.raises(StateError) as caught:
        show_record(filled, "jobs.site-aa")
    assert caught.value.message == f"jobs.site-aa has no resource in state file {state_path}"
    assert caught.value.hint == "did you mean 'jobs.site-a'?"


def test_show_of_an_address_with_only_a_pending_operation_says_so(filled, state_path):
    with pytest.raises(StateError) as caught:
        show_record(filled, "jobs.site-c")
    assert caught.value.message == (
        f"jobs.site-c has no resource in state file {state_path}, only a pending operation of "
        "unknown outcome"
    )


def test_rm_forgets_the_resource_and_keeps_the_previous_state_as_backup(filled, state_path):
    before = state_path.read_bytes()
    removed = forget_resource(filled, "jobs.site-b")
    assert removed.address == "jobs.site-b"
    assert list_addresses(filled) == ["jobs.site-a", "workspaces.main"]
    assert state_path.with_name("state.json.backup").read_bytes() == before
    assert json.loads(state_path.read_bytes())["serial"] == json.loads(before)["serial"] + 1


def test_rm_of_a_missing_address_changes_nothing(filled, state_path):
    before = state_path.read_bytes()
    with pytest.raises(StateError) as caught:
        forget_resource(filled, "jobs.nowhere")
    assert caught.value.message == f"jobs.nowhere has no resource in state file {state_path}"
    assert caught.value.hint == "run 'rmapply state list' to see them"
    assert state_path.read_bytes() == before


def test_rm_fails_at_once_while_another_writer_holds_the_lock(filled):
    with filled.lock("apply"), pytest.raises(StateLockedError):
        forget_resource(filled, "jobs.site-a")


def test_mv_gives_the_record_its_new_address(filled):
    moved = move_resource(filled, "jobs.site-a", "jobs.site-z")
    assert moved.address == "jobs.site-z"
    assert show_record(filled, "jobs.site-z").remote_id == "job-1"
    assert "jobs.site-a" not in list_addresses(filled)


@pytest.mark.parametrize(
    ("source", "destination", "message"),
    [
        (
            "jobs.site-a",
            "workspaces.other",
            "cannot move jobs.site-a to workspaces.other: a job stays a job",
        ),
        (
            "jobs.site-a",
            "jobs.site-b",
            "cannot move jobs.site-a to jobs.site-b: jobs.site-b is already in state file {path}",
        ),
        (
            "jobs.site-a",
            "jobs.site-c",
            "cannot move jobs.site-a to jobs.site-c: jobs.site-c is already in state file {path}",
        ),
        ("jobs.site-a", "jobs.Bad", "invalid resource key 'Bad': use [a-z0-9][a-z0-9_-]*"),
    ],
)
def test_mv_refuses_a_destination_that_cannot_take_the_record(
    filled, state_path, source, destination, message
):
    before = state_path.read_bytes()
    with pytest.raises(StateError) as caught:
        move_resource(filled, source, destination)
    assert caught.value.message == message.format(path=state_path)
    assert state_path.read_bytes() == before


def test_forget_intent_drops_the_pending_operation(filled):
    dropped = forget_intent(filled, "jobs.site-c")
    assert (dropped.action, dropped.details) == ("create", {"name": "site-c"})
    assert list_pending(filled) == []


def test_forget_intent_of_an_address_without_one_suggests_a_close_one(filled, state_path):
    with pytest.raises(StateError) as caught:
        forget_intent(filled, "jobs.site-d")
    assert (
        caught.value.message == f"jobs.site-d has no pending operation in state file {state_path}"
    )
    assert caught.value.hint == "did you mean 'jobs.site-c'?"
