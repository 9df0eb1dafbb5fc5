"""Pipelines applied over real HTTP: a Calibration's orientations feed a Reconstruction. The
downstream job is created with the upstream's output id at once, submitted only once the
upstream succeeded, left waiting without --wait, followed in waves with it, and blocked by a
failed upstream."""

from __future__ import annotations

import _thread
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rmapply.apply.events import ActionFinished, ActionWaiting, ApplyEvent, ProgressReported
from rmapply.apply.summary import ApplySummary, OutcomeStatus
from rmapply.client import RealityModelingClient
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.model import DesiredState, JobSpec
from rmapply.output.apply_events import summary_lines
from rmapply.plan import build_plan
from rmapply.refresh import refresh
from rmapply.state import LocalStateStore
from rmapply.wire import Job
from tests.apply.conftest import INPUT_ID, desired_state, in_chain_join, run_apply

ORIENTATIONS = "jobs.calib.outputs.CCOrientations"


def _spec(kind: str, name: str, inputs: list[dict[str, str]], outputs: list[str]) -> JobSpec:
    return JobSpec.from_wire(
        {
            "type": kind,
            "name": name,
            "workspace": "main",
            "inputs": inputs,
            "settings": {"quality": "Medium", "outputs": outputs},
        }
    )


def pipeline(itwin_id: str) -> DesiredState:
    """Calibration -> Reconstruction, both submit = true."""
    calib = _spec("Calibration", "Calib", [{"id": INPUT_ID}], ["CCOrientations"])
    recon = _spec(
        "Reconstruction",
        "Recon",
        [{"id": INPUT_ID}, {"id": ORIENTATIONS}],
        ["Cesium 3D Tiles"],
    )
    return desired_state(itwin_id, {"calib": calib, "recon": recon})


def refreshed_apply(
    desired: DesiredState,
    store: LocalStateStore,
    client: RealityModelingClient,
    **options: Any,
) -> ApplySummary:
    """Refresh, plan and apply, as ``rmapply apply`` does."""
    view = refresh(client, store.load(), itwin_id=desired.itwin_id, parallelism=2).view
    plan = build_plan(desired, store.load(), view, now=datetime.now(UTC))
    return run_apply(desired, store, client, plan=plan, **options)


def by_name(emulator: Emulator) -> dict[str, Job]:
    """The emulator's jobs by name."""
    return {job.name: job for job in emulator.jobs()}


def test_apply_without_wait_creates_the_chain_submits_its_head_and_leaves_the_rest_waiting(
    emulator_factory: Callable[..., Emulator],
    client: RealityModelingClient,
    store: LocalStateStore,
    itwin_id: str,
) -> None:
    emulator = emulator_factory(EmulatorOptions(speed=0))
    events: list[ApplyEvent] = []
    with RealityModelingClient(emulator.base_url, client.auth) as service:
        summary = run_apply(pipeline(itwin_id), store, service, events=events)
    assert summary.ok, summary.error()
    assert summary.counts()["waiting"] == 1
    jobs = by_name(emulator)
    assert jobs["Calib"].state.value == "active"
    assert jobs["Recon"].state.value == "unsubmitted"
    # created at once, with the upstream's output id (allocated when it was created)
    assert jobs["Recon"].inputs[1].id == jobs["Calib"].output_ids()["CCOrientations"]
    waiting = [e for e in events if isinstance(e, ActionWaiting)]
    assert [e.to_json()["waitingFor"] for e in waiting] == [
        [{"address": "jobs.calib", "state": "active", "percentage": 0.0}]
    ]
    assert waiting[0].to_json()["reasonCode"] == "waiting-for-inputs"
    assert "  jobs.recon: waiting for jobs.calib (active, 0%)" in summary_lines(summary)
    assert summary_lines(summary)[0].endswith("0 failed, 0 skipped, 1 waiting.")
    # the state keeps the reference as written, so the next plan sees no change to the inputs
    recorded = store.load().resources["jobs.recon"]
    assert recorded.spec["inputs"][1]["id"] == ORIENTATIONS


def test_the_next_apply_submits_the_waiting_job_once_its_upstream_succeeded(
    emulator_factory: Callable[..., Emulator],
    client: RealityModelingClient,
    store: LocalStateStore,
    itwin_id: str,
) -> None:
    emulator = emulator_factory(EmulatorOptions(speed=0))
    desired = pipeline(itwin_id)
    with RealityModelingClient(emulator.base_url, client.auth) as service:
        run_apply(desired, store, service)
        still = refreshed_apply(desired, store, service)  # upstream still running: waits again
        assert [o.status for o in still.outcomes] == [OutcomeStatus.WAITING]
        emulator.advance(24 * 3600)
        summary = refreshed_apply(desired, store, service)
    assert summary.ok, summary.error()
    assert summary.done_by_action() == {"submit": 1}
    jobs = by_name(emulator)
    assert len(emulator.jobs()) == 2  # nothing was created again because it waited
    assert jobs["Recon"].state.value == "active"


def test_apply_with_wait_submits_each_job_the_moment_its_inputs_are_ready(
    emulator_factory: Callable[..., Emulator],
    client: RealityModelingClient,
    store: LocalStateStore,
    itwin_id: str,
) -> None:
    emulator = emulator_factory(EmulatorOptions(speed=0))

    class Advancing(list[ApplyEvent]):
        def append(self, event: ApplyEvent) -> None:
            super().append(event)
            if isinstance(event, ProgressReported):
                emulator.advance(24 * 3600)  # far past any job's simulated duration

    events = Advancing()
    with RealityModelingClient(emulator.base_url, client.auth) as service:
        summary = run_apply(
            pipeline(itwin_id), store, service, events=events, wait=True, wait_timeout=30
        )
    assert summary.ok, summary.error()
    assert summary.job_states == {"jobs.calib": "success", "jobs.recon": "success"}
    assert not [e for e in events if isinstance(e, ActionWaiting)]
    jobs = by_name(emulator)
    calib, recon = jobs["Calib"], jobs["Recon"]
    assert calib.execution_information is not None and recon.execution_information is not None
    ended = calib.execution_information.ended_date_time
    submitted = recon.execution_information.submitted_date_time
    assert ended is not None and submitted is not None and submitted >= ended
    assert recon.inputs[1].id == calib.output_ids()["CCOrientations"]


def test_a_failed_upstream_blocks_its_downstream_and_the_apply_fails_saying_why(
    emulator_factory: Callable[..., Emulator],
    client: RealityModelingClient,
    store: LocalStateStore,
    itwin_id: str,
) -> None:
    emulator = emulator_factory(EmulatorOptions(speed=0))
    desired = pipeline(itwin_id)
    with RealityModelingClient(emulator.base_url, client.auth) as service:
        run_apply(desired, store, service)
        emulator.fail_job(by_name(emulator)["Calib"].id)
        emulator.advance(24 * 3600)  # it ends failed
        summary = refreshed_apply(desired, store, service)
    error = summary.error()
    assert error is not None
    assert "  jobs.recon: submit skipped: blocked, jobs.calib failed" in error.message
    assert by_name(emulator)["Recon"].state.value == "unsubmitted"


def test_ctrl_c_during_a_chain_leaves_the_state_true_and_the_rest_waiting(
    emulator_factory: Callable[..., Emulator],
    client: RealityModelingClient,
    store: LocalStateStore,
    itwin_id: str,
) -> None:
    emulator = emulator_factory(EmulatorOptions(speed=0))  # the calibration never ends

    class InterruptOnProgress(list[ApplyEvent]):
        def append(self, event: ApplyEvent) -> None:
            super().append(event)
            if isinstance(event, ActionFinished) and event.address == "jobs.recon":
                self.created = True  # the calibration is polled from its submit on, maybe sooner
            # once the submits were all tried (recon's found its inputs not ready): before
            # that, Ctrl-C rightly skips a submit not yet tried, and recon was not 'waiting'
            main = sys._current_frames().get(threading.main_thread().ident or 0)
            joined = in_chain_join(main)
            if isinstance(event, ProgressReported) and self.created and joined and not self.sent:
                self.sent = True
                _thread.interrupt_main()  # as Ctrl-C does

        sent = False
        created = False

    events = InterruptOnProgress()
    with RealityModelingClient(emulator.base_url, client.auth) as service:
        summary = run_apply(
            pipeline(itwin_id), store, service, events=events, wait=True, wait_timeout=30
        )
    assert summary.interrupted
    assert [(o.address, o.status) for o in summary.with_status(OutcomeStatus.WAITING)] == [
        ("jobs.recon", OutcomeStatus.WAITING)
    ]
    state = store.load()
    assert state.pending == {}
    assert state.resources["jobs.calib"].job_state == "active"
    assert state.resources["jobs.recon"].job_state == "unsubmitted"
    assert by_name(emulator)["Recon"].state.value == "unsubmitted"
