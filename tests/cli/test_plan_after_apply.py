"""The planner is idempotent through the whole pipeline: manifests on disk, plan with a refresh
from the emulator over HTTP, the real apply, then a plan again finds nothing to do."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.apply.backoff import PollSchedule
from rmapply.apply.executor import ApplyOptions, execute_plan
from rmapply.emulator import Emulator
from rmapply.plan import Plan
from rmapply.project import Project
from tests.cli.project import photos_id

KEYS = ["a", "b", "c", "d"]
FAST_POLLS = PollSchedule(scale=0.002)


@st.composite
def job_manifests(draw: st.DrawFn, key: str) -> dict[str, Any]:
    """One job, from a few values per field so that two drawings often share most of them."""
    job: dict[str, Any] = {
        "type": "Full",
        "name": draw(st.sampled_from([f"Site {key}", f"Site {key} (north)"])),
        "workspace": draw(st.sampled_from(["main", "other"])),
        "inputs": [
            {
                "id": draw(st.sampled_from([photos_id(key), photos_id(key, "-2")])),
                "description": draw(st.sampled_from(["drone photos", "photos"])),
            }
        ],
        "settings": {
            "quality": draw(st.sampled_from(["Draft", "Medium", "Extra"])),
            "outputs": draw(st.sampled_from([["OBJ"], ["OBJ", "Cesium 3D Tiles"]])),
        },
        "submit": draw(st.booleans()),
    }
    cost = draw(
        st.sampled_from([None, {"gigaPixels": 1.0}, {"gigaPixels": 2.0, "megaPoints": 5.0}])
    )
    if cost is not None:
        job["costEstimationParameters"] = cost
    return job


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    """Both workspaces (one maybe renamed) and a subset of the jobs."""
    keys = draw(st.lists(st.sampled_from(KEYS), unique=True))
    return {
        "workspaces": {
            "main": {"name": draw(st.sampled_from(["Main", "Main (renamed)"]))},
            "other": {"name": "Other"},
        },
        "jobs": {key: draw(job_manifests(key)) for key in sorted(keys)},
    }


def _write(folder: Path, itwin_id: str, document: dict[str, Any]) -> None:
    (folder / "rmapply.toml").write_text(f'[project]\niTwinId = "{itwin_id}"\n', "utf-8")
    (folder / "all.yaml").write_text(yaml.safe_dump(document), "utf-8")


def _plan_and_apply(project: Project, emulator_url: str, token: str) -> Plan:
    """What ``rmapply apply --auto-approve`` does: lock, refresh, plan, execute."""
    loaded = project.manifests()
    environ = {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator_url}
    project.environ = environ
    endpoint = project.endpoint()
    with project.client(endpoint) as client, project.store.lock("apply") as session:
        planned = project.plan(
            loaded,
            client=client,
            options=project.plan_options(),
            now=datetime.now(UTC),
            document=session.document,
        )
        summary = execute_plan(
            planned.plan,
            session,
            client,
            options=ApplyOptions(
                parallelism=4, poll_schedule=FAST_POLLS, itwin_id=project.config.itwin_id
            ),
            on_event=lambda event: None,
        )
        assert summary.ok, summary.error()
        return planned.plan


def _plan(project: Project) -> Plan:
    loaded = project.manifests()
    with project.client(project.endpoint()) as client:
        return project.plan(
            loaded, client=client, options=project.plan_options(), now=datetime.now(UTC)
        ).plan


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(first=manifests(), second=manifests())
def test_plan_after_applying_it_finds_nothing_to_do(
    emulator: Emulator, token: str, first: dict[str, Any], second: dict[str, Any]
) -> None:
    itwin_id = str(uuid.uuid4())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for document in (first, second):
            _write(root, itwin_id, document)
            project = Project.load(root, environ={})
            _plan_and_apply(project, emulator.base_url, token)
            state = project.store.load()
            wanted = {f"jobs.{k}" for k in document["jobs"]} | {
                "workspaces.main",
                "workspaces.other",
            }
            assert set(state.resources) == wanted
            for key, job in document["jobs"].items():
                remote = emulator.job(state.resources[f"jobs.{key}"].remote_id)
                assert remote is not None
                if job["submit"]:  # a submitted job is never taken back by a later apply
                    assert remote.state.value != "unsubmitted"
            again = _plan(project)
            assert not again.anything_to_apply, [
                (str(a.address), a.action.value, a.reasons) for a in again.to_apply
            ]
