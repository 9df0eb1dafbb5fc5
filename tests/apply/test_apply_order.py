"""The order apply makes its calls in, read from the service's own timestamps: without a budget
the critical path goes first (each upstream job is submitted as soon as it is created, before
the jobs that follow it are created); with a budget nothing is submitted before the gate, which
needs every create's estimatedCost."""

from __future__ import annotations

from datetime import datetime

from rmapply.apply.events import ActionFinished, ApplyEvent, JobSettled, ProgressReported
from rmapply.client import RealityModelingClient
from rmapply.emulator import Emulator
from rmapply.model import Address, DesiredJob, DesiredState, JobSpec, Source
from rmapply.state import LocalStateStore
from rmapply.wire import Job
from tests.apply.conftest import INPUT_ID, desired_state, job_spec, run_apply

PAIRS = 3


def _spec(kind: str, name: str, inputs: list[dict[str, str]], outputs: list[str]) -> JobSpec:
    return JobSpec.from_wire(
        {
            "type": kind,
            "name": name,
            "workspace": "main",
            "inputs": inputs,
            "settings": {"quality": "Medium", "outputs": outputs},
            "costEstimationParameters": {"gigaPixels": 1.0, "meshQuality": "Medium"},
        }
    )


def pairs(itwin_id: str) -> DesiredState:
    """``PAIRS`` pipelines calib-N (Calibration) -> recon-N (its orientations), all submitted."""
    jobs = {}
    for i in range(PAIRS):
        jobs[f"calib-{i}"] = _spec(
            "Calibration", f"Calib {i}", [{"id": INPUT_ID}], ["CCOrientations"]
        )
        jobs[f"recon-{i}"] = _spec(
            "Reconstruction",
            f"Recon {i}",
            [{"id": INPUT_ID}, {"id": f"jobs.calib-{i}.outputs.CCOrientations"}],
            ["OBJ"],
        )
    return desired_state(itwin_id, jobs)


def _created(jobs: list[Job]) -> list[datetime]:
    return [j.created_date_time for j in jobs]


def _submitted(jobs: list[Job]) -> list[datetime]:
    return [j.execution_information.submitted_date_time for j in jobs if j.execution_information]


def _by_stage(emulator: Emulator) -> tuple[list[Job], list[Job]]:
    jobs = emulator.jobs()
    return (
        [j for j in jobs if j.name.startswith("Calib")],
        [j for j in jobs if j.name.startswith("Recon")],
    )


def test_without_a_budget_each_upstream_job_is_submitted_before_the_downstream_creates(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    summary = run_apply(pairs(itwin_id), store, client, parallelism=1)
    assert summary.ok, summary.error()
    calibs, recons = _by_stage(emulator)
    assert len(_submitted(calibs)) == PAIRS
    # the first calibration runs before the second one is even created...
    assert min(_submitted(calibs)) < sorted(_created(calibs))[1]
    # ...and every calibration runs before any reconstruction is created
    assert max(_submitted(calibs)) < min(_created(recons))
    assert summary.counts()["waiting"] == PAIRS  # the reconstructions wait for their inputs


def test_with_a_budget_nothing_is_submitted_before_every_job_is_created_and_priced(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    summary = run_apply(pairs(itwin_id), store, client, parallelism=1, max_cost=1e6)
    assert summary.ok, summary.error()
    calibs, recons = _by_stage(emulator)
    assert len(_submitted(calibs)) == PAIRS
    assert min(_submitted(calibs)) > max(_created(calibs + recons))


def test_a_budget_decided_from_the_state_alone_lets_the_submits_go_first(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    held = run_apply(pairs(itwin_id), store, client, parallelism=1, max_cost=0.001)
    assert held.counts()["held"] == 2 * PAIRS  # created and priced, nothing submitted
    # the next apply only submits jobs created earlier (the gate is decided before any call)
    # and creates one job it does not submit
    desired = pairs(itwin_id)
    extra = Address.job("extra")
    desired.jobs[extra] = DesiredJob(extra, job_spec("Extra", submit=False), Source("x.toml"))
    summary = run_apply(desired, store, client, parallelism=1, max_cost=1e6)
    assert summary.ok, summary.error()
    assert summary.done_by_action() == {"create": 1, "submit": PAIRS}
    calibs, _ = _by_stage(emulator)
    (late,) = [j for j in emulator.jobs() if j.name == "Extra"]
    assert max(_submitted(calibs)) < late.created_date_time


def test_with_wait_polling_starts_with_the_first_submit_not_after_the_last(
    emulator: Emulator, client: RealityModelingClient, store: LocalStateStore, itwin_id: str
) -> None:
    # every call takes 80 ms and one worker makes them, so the eight submits span over half a
    # second; the first job's first poll is due 30 ms after its submit
    emulator.set_speed(1000.0)
    emulator.set_faults(latency_ms=80)
    jobs = {f"job-{i}": job_spec(f"Job {i}") for i in range(8)}
    events: list[ApplyEvent] = []
    summary = run_apply(
        desired_state(itwin_id, jobs), store, client, events=events, parallelism=1, wait=True
    )
    assert summary.ok, summary.error()
    polled = [i for i, e in enumerate(events) if isinstance(e, ProgressReported | JobSettled)]
    submitted = [
        i for i, e in enumerate(events) if isinstance(e, ActionFinished) and e.action == "submit"
    ]
    assert len(submitted) == 8
    assert polled and polled[0] < submitted[-1]
