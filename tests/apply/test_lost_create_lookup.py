"""How a lost job create is looked up: whose job it may be, in which iTwin, and what matches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rmapply.apply.recording import Recorder
from rmapply.apply.recovery import Outcome, resolve_operation, resolve_pending
from rmapply.apply.summary import OutcomeStatus
from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken
from rmapply.emulator import Emulator
from rmapply.state import LocalStateStore, PendingOperation, ResourceRecord, StateDocument
from rmapply.wire import WorkspaceCreation
from tests.apply.conftest import INPUT_ID, desired_state, job_spec, new_itwin, run_apply
from tests.apply.test_unknown_outcomes import _create, _lost_create
from tests.client.plain_server import PlainServer

LATER = timedelta(minutes=3)  # past the in-flight window of every intent below


def _pending(name: str, workspace_id: str | None, itwin_id: str) -> PendingOperation:
    details = {"kind": "job", "name": name, "iTwinId": itwin_id, "type": "Full"}
    if workspace_id:
        details["workspaceId"] = workspace_id
    details["inputIds"] = [INPUT_ID]
    return PendingOperation(
        address="jobs.a",
        action="create",
        request_digest="sha256:x",
        sent_at=datetime.now(UTC),
        details=details,
    )


def _holding(address: str, remote_id: str) -> ResourceRecord:
    now = datetime.now(UTC)
    return ResourceRecord(
        address=address, kind="job", remote_id=remote_id, created_at=now, updated_at=now
    )


def test_the_ids_other_addresses_hold_are_read_after_the_list_returned(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    workspace_id = _lost_create(store, client, itwin_id, "Twin")
    operation = store.load().pending["jobs.a"]
    before_the_list = StateDocument(pending={"jobs.a": operation})
    sibling = _create(client, "Twin", workspace_id)  # jobs.b's create, recorded meanwhile
    after_the_list = StateDocument(
        pending={"jobs.a": operation}, resources={"jobs.b": _holding("jobs.b", sibling)}
    )
    resolution = resolve_operation(
        operation,
        before_the_list,
        client,
        operation.sent_at + LATER,
        latest=lambda: after_the_list,
    )
    assert resolution.outcome is Outcome.NOT_DONE  # jobs.b's job is never adopted by jobs.a


def test_a_job_another_address_holds_is_never_adopted_a_second_time(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    assert run_apply(desired_state(itwin_id, {"b": job_spec("B")}), store, client).ok
    held = store.load().resources["jobs.b"]
    with store.lock("apply") as session:
        recorder = Recorder(session, now=lambda: datetime.now(UTC))
        copy = held.model_copy(update={"address": "jobs.a"})
        assert recorder.adopt("jobs.a", copy) is False
    state = store.load()
    assert "jobs.a" not in state.resources
    assert state.resources["jobs.b"].remote_id == held.remote_id


def test_two_lost_creates_never_adopt_the_same_job_even_in_a_read_only_plan(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    workspace_id = _lost_create(store, client, itwin_id, "Twin")
    job_id = _create(client, "Twin", workspace_id)
    document = store.load()
    first = document.pending["jobs.a"]
    # an older intent that did not record its workspace: it matches the same job
    loose = {k: v for k, v in first.details.items() if k != "workspaceId"}
    document.pending["jobs.z"] = first.model_copy(update={"address": "jobs.z", "details": loose})
    verdicts = resolve_pending(document, client, first.sent_at + LATER)  # writes nothing
    assert [(r.address, r.outcome, r.remote_id) for r in verdicts] == [
        ("jobs.a", Outcome.ADOPTED, job_id),
        ("jobs.z", Outcome.NOT_DONE, None),
    ]


def test_a_lost_create_in_a_workspace_of_another_itwin_is_looked_up_in_that_itwin(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    elsewhere = client.create_workspace(WorkspaceCreation(name="w", i_twin_id=new_itwin()))
    job_id = _create(client, "Site A", elsewhere.id)
    # the intent names the project's iTwin: a literal workspaceId is not in state
    operation = _pending("Site A", elsewhere.id, itwin_id)
    resolution = resolve_operation(operation, StateDocument(), client, operation.sent_at + LATER)
    assert (resolution.outcome, resolution.remote_id) == (Outcome.ADOPTED, job_id)


def test_filter_matches_are_checked_for_name_and_creation_time_on_this_side(
    emulator: Emulator, client: RealityModelingClient, itwin_id: str, token: str
) -> None:
    workspace_id = client.create_workspace(WorkspaceCreation(name="w", i_twin_id=itwin_id)).id
    other_name = client.get_job(_create(client, "Site B", workspace_id)).to_wire()
    too_old = client.get_job(_create(client, "Site A", workspace_id)).to_wire()
    too_old["createdDateTime"] = "2020-01-01T00:00:00Z"
    # a service that ignores $filter and lists both
    page = json.dumps({"jobs": [other_name, too_old], "_links": {}}).encode()
    operation = _pending("Site A", None, itwin_id)
    with (
        PlainServer(200, page, "application/json") as loose,
        RealityModelingClient(
            loose.url, StaticToken(token), retry=RetryPolicy.none()
        ) as loose_client,
    ):
        resolution = resolve_operation(
            operation, StateDocument(), loose_client, operation.sent_at + LATER
        )
    assert resolution.outcome is Outcome.NOT_DONE


def test_the_emulator_sends_its_own_clock_in_every_date_header(
    emulator: Emulator, client: RealityModelingClient, tmp_path: Path
) -> None:
    client.engines_limit(new_itwin())
    before = client.service_clock.now()
    assert before is not None
    assert abs((before - datetime.now(UTC)).total_seconds()) < 5
    emulator.advance(3600)
    client.engines_limit(new_itwin())
    after = client.service_clock.now()
    assert after is not None
    assert after - before >= timedelta(minutes=59)


def test_a_siblings_job_recorded_while_the_list_was_on_its_way_is_not_adopted_by_both(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    first = desired_state(itwin_id, {"c": job_spec("C", submit=False)})
    assert run_apply(first, store, client).ok
    # a's create is refused unprocessed (a POST cannot know: outcome unknown) and the list that
    # looks for it is slow; meanwhile b (after c's PATCH) creates a job of the same name
    jobs = {
        "c": job_spec("C", submit=False, outputs=("LAS",)),
        "a": job_spec("Twin", submit=False),
        "b": job_spec("Twin", submit=False, depends_on=["jobs.c"]),
    }
    emulator.fail_next(1, 503, "POST", "/contextcapture/jobs")
    emulator.delay_next(1, 0.5, "PATCH", "/contextcapture/jobs/")
    emulator.delay_next(1, 2.0, "GET", "/contextcapture/jobs")
    summary = run_apply(desired_state(itwin_id, jobs), store, client, parallelism=4)
    state = store.load()
    (twin,) = [j for j in emulator.jobs() if j.name == "Twin"]
    assert state.resources["jobs.b"].remote_id == twin.id
    assert "jobs.a" not in state.resources  # b's job is b's alone
    assert set(state.pending) == {"jobs.a"}
    statuses = {(o.address, o.action): o.status for o in summary.outcomes}
    assert statuses[("jobs.a", "create")] is OutcomeStatus.UNKNOWN
