"""Updates, replacements, deletes, forgets and records, exactly as planned, over HTTP."""

from __future__ import annotations

import _thread
import threading
from datetime import UTC, datetime

from rmapply.apply.summary import OutcomeStatus
from rmapply.client import RealityModelingClient
from rmapply.emulator import Emulator
from rmapply.plan import PlanOptions, build_plan
from rmapply.state import LocalStateStore
from rmapply.wire import JobInput
from tests.apply.conftest import desired_state, job_spec, run_apply

OTHER_INPUT = "11111111-2222-4333-8444-555555555555"


def _plan(desired, store, **options):
    return build_plan(
        desired, store.load(), None, now=datetime.now(UTC), options=PlanOptions(**options)
    )


def test_a_removed_unsubmitted_job_is_deleted_and_leaves_the_state(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    first = desired_state(itwin_id, {"a": job_spec("A", submit=False), "b": job_spec("B")})
    assert run_apply(first, store, client).ok
    gone_id = store.load().resources["jobs.a"].remote_id
    later = desired_state(itwin_id, {"b": job_spec("B")})
    plan = _plan(later, store)
    assert [(str(a.address), a.action.value) for a in plan.to_apply] == [("jobs.a", "delete")]
    assert run_apply(later, store, client, plan=plan).ok
    assert emulator.job(gone_id) is None
    assert "jobs.a" not in store.load().resources


def test_a_removed_submitted_job_is_forgotten_and_keeps_running(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    assert run_apply(desired_state(itwin_id, {"a": job_spec("A")}), store, client).ok
    job_id = store.load().resources["jobs.a"].remote_id
    summary = run_apply(desired_state(itwin_id, {}), store, client)
    assert [(o.address, o.action, o.status) for o in summary.outcomes] == [
        ("jobs.a", "forget", OutcomeStatus.DONE)
    ]
    assert emulator.job(job_id) is not None
    assert "jobs.a" not in store.load().resources


def test_changing_the_outputs_of_an_unsubmitted_job_patches_it_and_records_the_new_ids(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    assert run_apply(desired_state(itwin_id, {"a": job_spec("A", submit=False)}), store, client).ok
    job_id = store.load().resources["jobs.a"].remote_id
    changed = desired_state(itwin_id, {"a": job_spec("A", submit=False, outputs=("LAS",))})
    plan = _plan(changed, store)
    assert [a.action.value for a in plan.to_apply] == ["update"]
    assert run_apply(changed, store, client, plan=plan).ok
    record = store.load().resources["jobs.a"]
    assert record.remote_id == job_id
    assert record.outputs == emulator.job(job_id).output_ids()
    assert set(record.outputs) == {"LAS"}


def test_changing_the_inputs_of_an_unsubmitted_job_replaces_it_and_deletes_the_old_one(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    assert run_apply(desired_state(itwin_id, {"a": job_spec("A", submit=False)}), store, client).ok
    old_id = store.load().resources["jobs.a"].remote_id
    spec = job_spec("A", submit=False).model_copy(update={"inputs": [JobInput(id=OTHER_INPUT)]})
    changed = desired_state(itwin_id, {"a": spec})
    plan = _plan(changed, store)
    assert [a.action.value for a in plan.to_apply] == ["replace"]
    summary = run_apply(changed, store, client, plan=plan)
    assert summary.ok, summary.error()
    record = store.load().resources["jobs.a"]
    assert record.remote_id != old_id
    assert emulator.job(old_id) is None
    assert [(h.id, h.last_state) for h in record.history] == [(old_id, "deleted")]
    assert [i.id for i in emulator.job(record.remote_id).inputs] == [OTHER_INPUT]


def test_replacing_an_active_job_with_cancel_replaced_cancels_it_after_the_new_one_runs(
    emulator_factory, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    from rmapply.client import RetryPolicy, StaticToken

    slow = emulator_factory(speed=1.0)
    with RealityModelingClient(slow.base_url, StaticToken(token), retry=RetryPolicy.fast()) as c:
        assert run_apply(desired_state(itwin_id, {"a": job_spec("A")}), store, c).ok
        old_id = store.load().resources["jobs.a"].remote_id
        changed = desired_state(itwin_id, {"a": job_spec("A", outputs=("LAS",))})
        plan = _plan(changed, store, cancel_replaced=True)
        assert [a.action.value for a in plan.to_apply] == ["replace"]
        summary = run_apply(changed, store, c, plan=plan)
    assert summary.ok, summary.error()
    assert [(o.action, o.status) for o in summary.outcomes] == [
        ("replace", OutcomeStatus.DONE),
        ("submit", OutcomeStatus.DONE),
        ("cancel", OutcomeStatus.DONE),
    ]
    record = store.load().resources["jobs.a"]
    assert slow.job(old_id).state.value == "cancelled"
    assert slow.job(record.remote_id).state.value == "active"
    assert [(h.id, h.last_state) for h in record.history] == [(old_id, "cancelled")]


def test_a_long_apply_checkpoints_the_state_file_along_the_way(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    jobs = {f"j{i}": job_spec(f"J{i}") for i in range(5)}
    # one worker: no checkpoint is skipped because another worker is writing one
    summary = run_apply(
        desired_state(itwin_id, jobs), store, client, checkpoint_every=0.0, parallelism=1
    )
    assert summary.ok
    # one state write per recorded result instead of one at the end
    assert store.load().serial > 5
    assert not store.journal_path.exists()


def test_ctrl_c_during_apply_finishes_the_calls_in_flight_and_records_them(
    emulator_factory, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    from rmapply.client import RetryPolicy, StaticToken

    slow = emulator_factory(speed=1000.0, latency_ms=60)
    jobs = {f"j{i}": job_spec(f"J{i}") for i in range(30)}
    timer = threading.Timer(0.5, _thread.interrupt_main)
    with RealityModelingClient(slow.base_url, StaticToken(token), retry=RetryPolicy.fast()) as c:
        timer.start()
        try:
            summary = run_apply(desired_state(itwin_id, jobs), store, c, parallelism=2)
        finally:
            timer.cancel()
    assert summary.interrupted
    skipped = summary.with_status(OutcomeStatus.SKIPPED)
    assert skipped and all(o.message == "apply was interrupted" for o in skipped)
    state = store.load()
    assert state.pending == {}
    remote = {j.id for j in slow.jobs()}
    recorded = {r.remote_id for r in state.resources.values() if r.kind == "job"}
    assert recorded == remote  # every job the service made is in state, and only those


def test_apply_records_the_progress_its_refresh_saw_even_when_nothing_changes(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    from rmapply.refresh import refresh

    desired = desired_state(itwin_id, {"a": job_spec("A")})
    assert run_apply(desired, store, client).ok
    emulator.advance(3600)  # the job has long finished
    seen = refresh(client, store.load(), itwin_id=itwin_id)
    plan = build_plan(desired, store.load(), seen.view, now=datetime.now(UTC))
    assert not plan.anything_to_apply
    assert run_apply(desired, store, client, plan=plan).ok
    assert store.load().resources["jobs.a"].remote["state"] == "success"


def test_a_cancel_of_a_replaced_job_held_by_the_budget_is_recorded_and_done_by_a_later_apply(
    emulator_factory, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    from rmapply.client import RetryPolicy, StaticToken

    slow = emulator_factory(speed=1.0)  # the old job keeps running through the test
    priced = job_spec("A", giga_pixels=5.0)
    with RealityModelingClient(slow.base_url, StaticToken(token), retry=RetryPolicy.fast()) as c:
        assert run_apply(desired_state(itwin_id, {"a": priced}), store, c).ok
        old_id = store.load().resources["jobs.a"].remote_id
        changed = desired_state(itwin_id, {"a": job_spec("A", giga_pixels=5.0, outputs=("LAS",))})
        held = run_apply(changed, store, c, plan=_plan(changed, store, cancel_replaced=True),
                         max_cost=1.0)  # fmt: skip
        assert [(o.action, o.status) for o in held.outcomes] == [
            ("replace", OutcomeStatus.DONE),
            ("submit", OutcomeStatus.HELD),
            ("cancel", OutcomeStatus.HELD),
        ]
        record = store.load().resources["jobs.a"]
        assert [(h.id, h.cancel) for h in record.history] == [(old_id, "requested")]
        assert slow.job(old_id).state.value == "active"
        # the next plan (without the flag) says so; the next apply submits, then cancels
        plan = _plan(changed, store)
        assert (
            f"jobs.a: replaced job {old_id} is still to be cancelled (--cancel-replaced of an"
            f" earlier apply); apply cancels it once job {record.remote_id} is submitted"
        ) in plan.warnings
        later = run_apply(changed, store, c, plan=plan)
    assert later.ok, later.error()
    assert [(o.action, o.status) for o in later.outcomes] == [
        ("submit", OutcomeStatus.DONE),
        ("cancel", OutcomeStatus.DONE),
    ]
    assert slow.job(old_id).state.value == "cancelled"
    record = store.load().resources["jobs.a"]
    assert slow.job(record.remote_id).state.value == "active"
    assert [(h.id, h.last_state, h.cancel) for h in record.history] == [
        (old_id, "cancelled", "done")
    ]
