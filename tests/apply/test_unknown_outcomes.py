"""Lost answers: creates are never sent again blindly; they are found and adopted, or shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rmapply.apply.events import OutcomeResolved
from rmapply.apply.recovery import Outcome, job_filter, resolve_pending
from rmapply.apply.summary import OutcomeStatus
from rmapply.client import RealityModelingClient
from rmapply.emulator import Emulator
from rmapply.errors import StateLockedError
from rmapply.output.apply_events import summary_lines
from rmapply.plan.planner import build_plan
from rmapply.state import LocalStateStore, PendingOperation
from rmapply.wire import JobCreation, WorkspaceCreation
from tests.apply.conftest import INPUT_ID, desired_state, job_spec, plan_for, run_apply


def _names(emulator: Emulator) -> list[str]:
    return sorted(j.name for j in emulator.jobs())


def test_a_create_whose_answer_is_lost_is_found_adopted_and_submitted_without_resending(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    emulator.drop_next(1, "POST", "/contextcapture/jobs")
    events: list = []
    summary = run_apply(desired_state(itwin_id, {"a": job_spec("A")}), store, client, events=events)
    assert summary.ok, summary.error()
    assert _names(emulator) == ["A"]
    assert emulator.request_count("POST", "/contextcapture/jobs") == 1
    job = emulator.jobs()[0]
    state = store.load()
    assert state.resources["jobs.a"].remote_id == job.id
    assert state.pending == {}
    assert job.state.value == "active"
    resolved = [e for e in events if isinstance(e, OutcomeResolved)]
    assert [(e.address, e.outcome, e.remote_id) for e in resolved] == [
        ("jobs.a", "adopted", job.id)
    ]


def test_a_5xx_to_a_create_is_an_unknown_outcome_and_none_found_means_not_created(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    emulator.fail_next(1, 503, "POST", "/contextcapture/jobs")
    desired = desired_state(itwin_id, {"a": job_spec("A")})
    summary = run_apply(desired, store, client)
    (unknown,) = summary.with_status(OutcomeStatus.UNKNOWN)
    assert (unknown.address, unknown.action) == ("jobs.a", "create")
    assert unknown.commands == ("rmapply apply",)  # it may still land: wait, then apply
    assert emulator.request_count("POST", "/contextcapture/jobs") == 1  # not re-sent
    assert set(store.load().pending) == {"jobs.a"}
    # once the request cannot be in flight any more, none found means it was not created
    later = datetime.now(UTC) + timedelta(minutes=3)
    with store.lock("apply") as session:
        (resolution,) = resolve_pending(session, client, later)
    assert resolution.outcome is Outcome.NOT_DONE
    assert store.load().pending == {}
    # the next apply plans the create again
    assert run_apply(desired, store, client).ok
    assert _names(emulator) == ["A"]


def test_a_lost_workspace_create_is_created_again_and_the_lost_request_is_kept_and_named(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    emulator.drop_next(1, "POST", "/contextcapture/workspaces")
    desired = desired_state(itwin_id, {"a": job_spec("A")})
    events: list = []
    summary = run_apply(desired, store, client, events=events)
    assert summary.ok, summary.error()
    (made,) = [o for o in summary.outcomes if o.address == "workspaces.main"]
    assert made.message == (
        "created again; the first request's answer was lost, a workspace named 'ws main' may"
        " exist unused"
    )
    assert emulator.request_count("POST", "/contextcapture/workspaces") == 2
    assert len(emulator.workspaces()) == 2  # the first one did land: it is the orphan
    assert _names(emulator) == ["A"]
    state = store.load()
    assert state.pending == {}
    record = state.resources["workspaces.main"]
    assert record.remote_id == emulator.workspaces()[1].id
    (lost,) = record.lost_requests
    assert (lost.action, lost.name) == ("create", "ws main")
    assert lost.request_digest.startswith("sha256:")
    assert state.resources["jobs.a"].workspace_id == record.remote_id
    assert (
        "  workspaces.main: created again; the first request's answer was lost, a workspace"
        " named 'ws main' may exist unused"
    ) in summary_lines(summary)


def test_a_workspace_create_left_pending_by_a_crash_is_created_again_by_the_next_apply(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("A")})
    with store.lock("apply") as session:  # killed right after sending the create
        session.journal.intent(
            "workspaces.main",
            "create",
            request_digest="sha256:lost",
            details={"kind": "workspace", "name": "ws main", "iTwinId": itwin_id},
        )
    plan = plan_for(desired, store)
    assert plan.unresolved == ()
    (create,) = [a for a in plan.to_apply if str(a.address) == "workspaces.main"]
    assert "lost its answer: it is created again" in create.reasons[-1]
    with store.lock("apply") as session:
        assert resolve_pending(session, client, datetime.now(UTC)) == []
    summary = run_apply(desired, store, client)
    assert summary.ok, summary.error()
    state = store.load()
    assert state.pending == {}
    (lost,) = state.resources["workspaces.main"].lost_requests
    assert (lost.name, lost.request_digest) == ("ws main", "sha256:lost")
    assert _names(emulator) == ["A"]


def test_a_lost_submit_answer_is_verified_with_a_get_and_never_repeated(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    emulator.drop_next(1, "PATCH", "/contextcapture/jobs/")
    summary = run_apply(desired_state(itwin_id, {"a": job_spec("A")}), store, client)
    assert summary.ok, summary.error()
    assert emulator.request_count("PATCH") == 1
    assert store.load().resources["jobs.a"].remote["state"] == "active"


def _lost_create(
    store: LocalStateStore,
    client: RealityModelingClient,
    itwin_id: str,
    name: str,
    sent_at: datetime | None = None,
) -> str:
    """Leave a journalled create without result, as a crash right after sending would."""
    workspace = client.create_workspace(WorkspaceCreation(name="w", i_twin_id=itwin_id))
    with store.lock("apply") as session:
        session.journal.intent(
            "jobs.a",
            "create",
            request_digest="sha256:x",
            details={
                "kind": "job",
                "name": name,
                "iTwinId": itwin_id,
                "workspaceId": workspace.id,
                "type": "Full",
                "inputIds": [INPUT_ID],
                "spec": job_spec(name).to_wire(),
                "specDigest": "sha256:y",
            },
            now=sent_at,
        )
    return workspace.id


def _create(client: RealityModelingClient, name: str, workspace_id: str) -> str:
    body = job_spec(name).to_creation(workspace_id)
    assert isinstance(body, JobCreation)
    return client.create_job(body).id


def test_resolve_pending_adopts_exactly_one_matching_job_into_state(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    workspace_id = _lost_create(store, client, itwin_id, "Site A")
    job_id = _create(client, "Site A", workspace_id)
    _create(client, "Other name", workspace_id)
    with store.lock("plan") as session:
        assert set(session.document.pending) == {"jobs.a"}
        resolutions = resolve_pending(session, client, datetime.now(UTC))
    assert [(r.outcome, r.remote_id) for r in resolutions] == [(Outcome.ADOPTED, job_id)]
    state = store.load()
    assert state.pending == {}
    assert state.resources["jobs.a"].remote_id == job_id
    assert state.resources["jobs.a"].digest == "sha256:y"


def test_resolve_pending_leaves_several_matches_unresolved_with_import_commands(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    workspace_id = _lost_create(store, client, itwin_id, "Site A")
    ids = sorted(_create(client, "Site A", workspace_id) for _ in range(2))
    with store.lock("plan") as session:
        (resolution,) = resolve_pending(session, client, datetime.now(UTC))
    assert resolution.outcome is Outcome.UNRESOLVED
    assert resolution.candidates == tuple(ids)
    assert resolution.commands == (
        f"rmapply import jobs.a {ids[0]}",
        f"rmapply import jobs.a {ids[1]}",
        "rmapply state forget-intent jobs.a",
    )
    assert set(store.load().pending) == {"jobs.a"}


def test_resolve_pending_with_no_match_drops_the_intent_so_the_job_is_planned_again(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    _lost_create(store, client, itwin_id, "Site A")
    after_the_window = datetime.now(UTC) + timedelta(minutes=3)
    with store.lock("plan") as session:
        (resolution,) = resolve_pending(session, client, after_the_window)
    assert resolution.outcome is Outcome.NOT_DONE
    assert store.load().pending == {}


def test_resolve_pending_is_unresolved_while_the_list_endpoint_fails(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    workspace_id = _lost_create(store, client, itwin_id, "Site A")
    _create(client, "Site A", workspace_id)
    emulator.fail_next(10, 503, "GET", "/contextcapture/jobs")
    (resolution,) = resolve_pending(store.load(), client, datetime.now(UTC))
    assert resolution.outcome is Outcome.UNRESOLVED
    assert "listing jobs to find it failed" in resolution.message
    emulator.clear_faults()
    # read-only with a document: nothing was written
    assert set(store.load().pending) == {"jobs.a"}


def test_resolution_ignores_jobs_already_recorded_for_another_address(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"b": job_spec("Site A")})
    assert run_apply(desired, store, client).ok
    workspace_id = store.load().resources["workspaces.main"].remote_id
    with store.lock("apply") as session:
        session.journal.intent(
            "jobs.a",
            "create",
            details={
                "kind": "job",
                "name": "Site A",
                "iTwinId": itwin_id,
                "workspaceId": workspace_id,
            },
        )
    after_the_window = datetime.now(UTC) + timedelta(minutes=3)
    (resolution,) = resolve_pending(store.load(), client, after_the_window)
    assert resolution.outcome is Outcome.NOT_DONE


def test_job_filter_quotes_the_name_and_allows_for_clock_skew() -> None:
    operation = PendingOperation(
        address="jobs.a",
        action="create",
        request_digest="",
        sent_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        details={"name": "O'Brien site", "iTwinId": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
    )
    assert job_filter(operation, timedelta(minutes=5)) == (
        "iTwinId eq 3fa85f64-5717-4562-b3fc-2c963f66afa6 and name eq 'O''Brien site' and "
        "createdDateTime ge 2026-03-01T11:55:00Z"
    )


def test_a_second_apply_fails_on_the_lock_and_changes_nothing(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("A")})
    with store.lock("apply"), pytest.raises(StateLockedError) as info:
        run_apply(desired, store, client)
    assert "is locked by pid" in info.value.message
    assert emulator.request_count() == 0
    assert not store.path.exists()


def test_a_saved_plan_applied_twice_creates_nothing_the_second_time(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("A")})
    plan = plan_for(desired, store)
    assert run_apply(desired, store, client, plan=plan).ok
    summary = run_apply(desired, store, client, plan=plan)
    failed = summary.with_status(OutcomeStatus.FAILED)
    assert [o.address for o in failed] == ["workspaces.main"]
    assert failed[0].message.startswith(
        "workspaces.main: planned as absent from state, but state now holds id "
    )
    assert _names(emulator) == ["A"]
    assert len(emulator.workspaces()) == 1


def test_unsubmitted_job_is_updated_in_place_then_submitted(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    assert run_apply(desired_state(itwin_id, {"a": job_spec("A", submit=False)}), store, client).ok
    first = emulator.jobs()[0]
    changed = desired_state(itwin_id, {"a": job_spec("A", giga_pixels=2.0)})
    with store.lock("plan"):
        pass
    plan = build_plan(changed, store.load(), None, now=datetime.now(UTC))
    assert [a.action.value for a in plan.to_apply] == ["update"]
    summary = run_apply(changed, store, client, plan=plan)
    assert summary.ok, summary.error()
    (job,) = emulator.jobs()
    assert job.id == first.id
    assert job.state.value == "active"
    assert job.cost_estimation_parameters is not None
    record = store.load().resources["jobs.a"]
    assert record.spec["costEstimationParameters"]["gigaPixels"] == 2.0


def test_a_job_created_within_the_clock_skew_allowance_before_the_intent_is_adopted(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    # the service's clock is 2 minutes behind ours: its createdDateTime precedes the intent
    service_now = datetime.fromtimestamp(emulator.now_ms() / 1000, UTC)
    workspace_id = _lost_create(
        store, client, itwin_id, "Site A", sent_at=service_now + timedelta(minutes=2)
    )
    job_id = _create(client, "Site A", workspace_id)
    with store.lock("plan") as session:
        (resolution,) = resolve_pending(session, client, datetime.now(UTC))
    assert (resolution.outcome, resolution.remote_id) == (Outcome.ADOPTED, job_id)
    assert store.load().resources["jobs.a"].remote_id == job_id


def test_a_same_named_job_created_long_before_the_intent_is_not_adopted(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    service_now = datetime.fromtimestamp(emulator.now_ms() / 1000, UTC)
    workspace_id = _lost_create(
        store, client, itwin_id, "Site A", sent_at=service_now + timedelta(hours=1)
    )
    _create(client, "Site A", workspace_id)  # an older job of the same name: not this create
    after_the_window = service_now + timedelta(hours=1, minutes=3)
    with store.lock("plan") as session:
        (resolution,) = resolve_pending(session, client, after_the_window)
    assert resolution.outcome is Outcome.NOT_DONE
    assert "jobs.a" not in store.load().resources
    assert store.load().pending == {}


def test_a_lost_create_whose_list_fails_stays_unknown_with_the_commands_and_is_not_resent(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    emulator.drop_next(1, "POST", "/contextcapture/jobs")
    emulator.fail_next(20, 503, "GET", "/contextcapture/jobs")
    summary = run_apply(desired_state(itwin_id, {"a": job_spec("A")}), store, client)
    emulator.clear_faults()
    (unknown,) = summary.with_status(OutcomeStatus.UNKNOWN)
    assert (unknown.address, unknown.action) == ("jobs.a", "create")
    assert unknown.commands == (
        "rmapply import jobs.a JOB_ID",
        "rmapply state forget-intent jobs.a",
    )
    assert emulator.request_count("POST", "/contextcapture/jobs") == 1
    assert _names(emulator) == ["A"]  # it was made; nobody knows its id yet
    state = store.load()
    assert set(state.pending) == {"jobs.a"}
    assert "jobs.a" not in state.resources
    # once the list answers again, the next resolution adopts it
    with store.lock("apply") as session:
        (resolution,) = resolve_pending(session, client, datetime.now(UTC))
    assert (resolution.outcome, resolution.remote_id) == (Outcome.ADOPTED, emulator.jobs()[0].id)


def _lost_submit(store: LocalStateStore, client: RealityModelingClient, itwin_id: str) -> str:
    """An unsubmitted job in state with a journalled submit and no result (a crash)."""
    assert run_apply(desired_state(itwin_id, {"a": job_spec("A", submit=False)}), store, client).ok
    job_id = store.load().resources["jobs.a"].remote_id
    with store.lock("apply") as session:
        session.journal.intent("jobs.a", "submit", details={"remoteId": job_id})
    return job_id


def test_a_submit_left_pending_by_a_crash_that_happened_is_verified_with_a_get(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    job_id = _lost_submit(store, client, itwin_id)
    client.submit_job(job_id)  # the PATCH did reach the service
    patches = emulator.request_count("PATCH")
    with store.lock("apply") as session:
        (resolution,) = resolve_pending(session, client, datetime.now(UTC))
    assert (resolution.outcome, resolution.remote_id) == (Outcome.DONE, job_id)
    assert emulator.request_count("PATCH") == patches  # verified, not sent again
    state = store.load()
    assert state.pending == {}
    assert state.resources["jobs.a"].remote["state"] == "active"


def test_a_submit_left_pending_that_never_arrived_is_dropped_and_submitted_once_by_the_next_apply(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    job_id = _lost_submit(store, client, itwin_id)
    with store.lock("apply") as session:
        (resolution,) = resolve_pending(session, client, datetime.now(UTC))
    assert resolution.outcome is Outcome.NOT_DONE
    assert store.load().pending == {}
    assert run_apply(desired_state(itwin_id, {"a": job_spec("A")}), store, client).ok
    assert emulator.request_count("PATCH") == 1
    assert emulator.job(job_id).state.value == "active"


def test_two_lost_creates_of_the_same_name_adopt_nothing_and_name_every_candidate(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    workspace_id = _lost_create(store, client, itwin_id, "Twin")
    with store.lock("apply") as session:
        journalled = store.load().pending["jobs.a"].details
        session.journal.intent("jobs.b", "create", details=dict(journalled))
    # only one of the two creates reached the service: whose job is it?
    job_id = _create(client, "Twin", workspace_id)
    with store.lock("apply") as session:
        resolutions = resolve_pending(session, client, datetime.now(UTC))
    assert [(r.address, r.outcome, r.candidates) for r in resolutions] == [
        ("jobs.a", Outcome.UNRESOLVED, (job_id,)),
        ("jobs.b", Outcome.UNRESOLVED, (job_id,)),
    ]
    assert "jobs.b also sent a create of a job named 'Twin'" in resolutions[0].message
    assert resolutions[0].commands == (
        f"rmapply import jobs.a {job_id}",
        "rmapply state forget-intent jobs.a",
    )
    state = store.load()
    assert set(state.pending) == {"jobs.a", "jobs.b"}
    assert state.resources == {}
