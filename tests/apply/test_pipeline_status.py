"""Where a pipeline stage stands (``rmapply status``, ``rmapply wait``): judged from the jobs it
takes an input or a cache from, as values."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rmapply.apply.pipeline_status import (
    InputsStatus,
    Upstream,
    inputs_status,
    upstream_addresses,
    upstreams_needed,
)
from rmapply.apply.readiness import spec_upstreams
from rmapply.model import Address, DesiredJob, JobSpec, Source
from rmapply.plan.context import upstreams

PHOTOS = "58e0c0ca-1d8d-4e8b-9a3c-2f3a1b5c7d90"


def job(*inputs: str, use_cache: str | None = None, **extra: Any) -> DesiredJob:
    settings: dict[str, Any] = {"quality": "Draft", "outputs": ["OBJ"]}
    if use_cache:
        settings["cacheSettings"] = {"useCache": use_cache}
    spec = JobSpec.from_wire(
        {
            "type": "Reconstruction",
            "name": "n",
            "inputs": [{"id": i} for i in inputs],
            "settings": settings,
            **extra,
        }
    )
    return DesiredJob(Address.job("x"), spec, Source("jobs.toml"))


SPECS = {
    "jobs.calib": job(PHOTOS),
    "jobs.recon": job(PHOTOS, "jobs.calib.outputs.CCOrientations"),
    "jobs.mesh": job(PHOTOS, use_cache="jobs.recon", dependsOn=["jobs.calib"]),
    "jobs.both": job("jobs.calib.outputs.CCOrientations", use_cache="jobs.recon"),
    "jobs.held": job(PHOTOS, "jobs.calib.outputs.CCOrientations", submit=False),
}


def test_upstreams_are_the_jobs_read_from_and_the_cache_not_depends_on() -> None:
    assert upstream_addresses(SPECS["jobs.recon"]) == ["jobs.calib"]
    assert upstream_addresses(SPECS["jobs.mesh"]) == ["jobs.recon"]  # dependsOn is no upstream
    assert upstream_addresses(SPECS["jobs.both"]) == ["jobs.calib", "jobs.recon"]
    assert upstreams_needed(SPECS, ["jobs.mesh", "jobs.recon", "jobs.gone"]) == [
        "jobs.calib",
        "jobs.recon",
    ]


def test_a_stage_waits_on_running_upstreams_and_says_how_far_they_are() -> None:
    states = {"jobs.calib": ("active", 35.0), "jobs.recon": ("unsubmitted", None)}
    status = inputs_status(SPECS, "jobs.both", "unsubmitted", states)
    assert status == InputsStatus(
        "waiting",
        (Upstream("jobs.calib", "active", 35.0), Upstream("jobs.recon", "unsubmitted")),
    )
    assert status.text() == "waiting for jobs.calib (active, 35%), jobs.recon (unsubmitted)"
    assert status.to_json() == {
        "inputs": "waiting",
        "waitingFor": [
            {"address": "jobs.calib", "state": "active", "percentage": 35.0},
            {"address": "jobs.recon", "state": "unsubmitted", "percentage": None},
        ],
    }


def test_an_upstream_not_in_state_is_not_created() -> None:
    status = inputs_status(SPECS, "jobs.recon", None, {})
    assert status is not None
    assert status.text() == "waiting for jobs.calib (not created)"


def test_a_failed_or_cancelled_upstream_blocks_the_stage() -> None:
    states = {"jobs.calib": ("cancelled", 40.0), "jobs.recon": ("active", 10.0)}
    status = inputs_status(SPECS, "jobs.both", "unsubmitted", states)
    assert status is not None and status.inputs == "blocked"
    assert status.text() == "blocked: jobs.calib cancelled"


def test_every_upstream_in_success_means_ready() -> None:
    status = inputs_status(SPECS, "jobs.recon", "unsubmitted", {"jobs.calib": ("success", 100)})
    assert status == InputsStatus("ready", ())
    assert status.text() == "inputs ready: the next 'rmapply apply' submits it"


def test_no_chain_for_submitted_jobs_jobs_without_upstreams_or_submit_false() -> None:
    running = {"jobs.calib": ("active", 35.0)}
    assert inputs_status(SPECS, "jobs.recon", "active", running) is None
    assert inputs_status(SPECS, "jobs.recon", "failed", running) is None
    assert inputs_status(SPECS, "jobs.calib", "unsubmitted", running) is None
    assert inputs_status(SPECS, "jobs.held", "unsubmitted", running) is None
    assert inputs_status(SPECS, "jobs.unknown", "unsubmitted", running) is None
    assert inputs_status({}, "jobs.recon", "unsubmitted", running) is None  # no manifests


_KEYS = st.sampled_from(["calib", "recon", "mesh-2"])
_INPUT_IDS = st.one_of(
    st.just(PHOTOS),
    st.builds("jobs.{}.outputs.{}".format, _KEYS, st.sampled_from(["CCOrientations", "OBJ"])),
    st.text(min_size=1, max_size=12),
)


@given(
    inputs=st.lists(_INPUT_IDS, min_size=1, max_size=4),
    use_cache=st.one_of(st.none(), st.builds("jobs.{}".format, _KEYS), st.just(PHOTOS)),
)
def test_apply_reads_the_upstreams_of_a_planned_spec_as_the_planner_reads_them(
    inputs: list[str], use_cache: str | None
) -> None:
    desired = job(*inputs, use_cache=use_cache)
    planned = desired.spec.to_wire()  # what a plan hands apply for the submit
    assert spec_upstreams(planned) == sorted(upstreams(desired), key=str)
