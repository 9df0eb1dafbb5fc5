"""Jobs that read other jobs' products over real HTTP: output ids exist from creation, can be
found with ``$filter=outputId eq``, and a job submitted before its inputs (or its cache) are
ready fails when it starts with ``InputNotReady``; submitted after, it succeeds."""

from __future__ import annotations

from typing import Any

from rmapply.emulator import Emulator
from rmapply.emulator.lifecycle import QUEUE_SECONDS, run_seconds
from tests.emulator.conftest import Api

PHOTOS = "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4"
# Long enough for any job of these tests (the reference cost parameters: 2.5 gigapixels).
RUN = run_seconds(2.5, 1.5)


def calibration(api: Api, workspace: str, **settings: Any) -> dict[str, Any]:
    """A Calibration job producing CCOrientations from the photos."""
    return api.create_job(
        workspace,
        type="Calibration",
        name="calib",
        inputs=[{"id": PHOTOS, "description": "photos"}],
        settings={"quality": "Medium", "outputs": ["CCOrientations"], **settings},
    )


def reconstruction(api: Api, workspace: str, orientations: str, **settings: Any) -> dict[str, Any]:
    """A Reconstruction job reading the photos and the orientations ``orientations``."""
    return api.create_job(
        workspace,
        type="Reconstruction",
        name="recon",
        inputs=[{"id": PHOTOS}, {"id": orientations, "description": "orientations"}],
        settings={"quality": "Medium", "outputs": ["Cesium 3D Tiles"], **settings},
    )


def output_id(job: dict[str, Any], fmt: str) -> str:
    """The reality-data id of output ``fmt`` of ``job``."""
    return next(str(o["id"]) for o in job["jobSettings"]["outputs"] if o["format"] == fmt)


def test_output_ids_exist_from_creation_and_filter_finds_their_producer(
    frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    workspace = api.workspace(itwin_id)
    calib = calibration(api, workspace)
    assert calib["state"] == "unsubmitted"
    orientations = output_id(calib, "CCOrientations")
    reconstruction(api, workspace, orientations)
    listed = api.get("/jobs", params={"$filter": f"outputId eq {orientations}"})
    assert listed.status_code == 200, listed.text
    jobs = listed.json()["jobs"]
    assert [job["id"] for job in jobs] == [calib["id"]]
    assert output_id(jobs[0], "CCOrientations") == orientations
    readers = api.get("/jobs", params={"$filter": f"inputId eq {orientations.upper()}"})
    assert [job["name"] for job in readers.json()["jobs"]] == ["recon"]


def test_a_job_reading_an_unfinished_output_fails_when_it_starts(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    workspace = api.workspace(itwin_id)
    calib = calibration(api, workspace)
    recon = reconstruction(api, workspace, output_id(calib, "CCOrientations"))
    api.submit(calib["id"])
    assert api.submit(recon["id"])["state"] == "active"  # accepted; fails when it starts
    frozen.advance(QUEUE_SECONDS)
    failed = api.job(recon["id"])
    assert failed["state"] == "failed"
    info = failed["executionInformation"]
    assert info["startedDateTime"] == info["endedDateTime"]
    assert info["estimatedUnits"] == 0
    [error] = info["errors"]
    assert error["code"] == "InputNotReady"
    assert error["title"] == "Input not ready"
    orientations = output_id(calib, "CCOrientations")
    assert (
        f"input {orientations} is produced by job {calib['id']}, which is active"
        in (error["message"])
    )
    assert api.job(calib["id"])["state"] == "active"  # the upstream job is not affected


def test_a_job_reading_an_unsubmitted_or_failed_output_fails(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    workspace = api.workspace(itwin_id)
    idle = calibration(api, workspace)
    broken = calibration(api, workspace)
    frozen.fail_job(broken["id"])
    api.submit(broken["id"])
    frozen.advance(QUEUE_SECONDS + RUN)
    assert api.job(broken["id"])["state"] == "failed"
    first = reconstruction(api, workspace, output_id(idle, "CCOrientations"))
    second = reconstruction(api, workspace, output_id(broken, "CCOrientations"))
    api.submit(first["id"])
    api.submit(second["id"])
    frozen.advance(QUEUE_SECONDS + RUN)
    messages = []
    for job in (first, second):
        seen = api.job(job["id"])
        assert seen["state"] == "failed"
        [error] = seen["executionInformation"]["errors"]
        assert error["code"] == "InputNotReady"
        messages.append(error["message"])
    assert "which is unsubmitted" in messages[0]
    assert "which is failed" in messages[1]


def test_the_same_job_submitted_after_its_input_succeeded_succeeds(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    workspace = api.workspace(itwin_id)
    calib = calibration(api, workspace)
    api.submit(calib["id"])
    frozen.advance(QUEUE_SECONDS + RUN)
    assert api.job(calib["id"])["state"] == "success"
    recon = reconstruction(api, workspace, output_id(calib, "CCOrientations"))
    api.submit(recon["id"])
    frozen.advance(QUEUE_SECONDS + RUN)
    done = api.job(recon["id"])
    assert done["state"] == "success"
    assert "errors" not in done["executionInformation"]


def test_a_job_reusing_a_cache_not_yet_produced_fails_and_succeeds_once_it_is(
    frozen: Emulator, frozen_api: Api, itwin_id: str
) -> None:
    api = frozen_api
    workspace = api.workspace(itwin_id)
    maker = calibration(api, workspace, cacheSettings={"createCache": True})
    early = calibration(api, workspace, cacheSettings={"useCache": maker["id"]})
    api.submit(maker["id"])
    api.submit(early["id"])
    frozen.advance(QUEUE_SECONDS + RUN)
    assert api.job(maker["id"])["state"] == "success"
    failed = api.job(early["id"])
    assert failed["state"] == "failed"
    [error] = failed["executionInformation"]["errors"]
    assert error["code"] == "InputNotReady"
    assert (
        f"cache {maker['id']} is produced by job {maker['id']}, which is active"
        in (error["message"])
    )
    late = calibration(api, workspace, cacheSettings={"useCache": maker["id"]})
    api.submit(late["id"])
    frozen.advance(QUEUE_SECONDS + RUN)
    assert api.job(late["id"])["state"] == "success"
