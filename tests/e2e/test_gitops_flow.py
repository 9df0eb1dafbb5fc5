"""The GitOps flow of docs/ci/, run as the workflows run it: the rmapply lines of each stage are
read from the workflow files, run in a shell from two clones sharing PostgreSQL state, against
``rmapply serve`` in its own process (test_workflow_commands checks the GitLab file runs the
same lines)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rmapply import wire
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.state.postgres import PostgresStateStore
from tests.e2e.apply_runs import RUN_TIMEOUT, TOKEN, environment, serving
from tests.e2e.workflows import (
    CARRY_FORWARD,
    DRIFT,
    MERGE,
    PULL_REQUEST,
    github_commands,
)
from tests.state import pg

BIN = str(Path(sys.executable).parent)  # the venv's bin: the workflows' 'rmapply' is this one's


@dataclass(frozen=True)
class Runner:
    """One CI runner's checkout of the manifests repository, and what the runs see."""

    root: Path
    env: dict[str, str]

    def stage(self, stage: str) -> subprocess.CompletedProcess[str]:
        """Run the stage's rmapply lines of the workflow file, as its CI job does."""
        return self.shell(github_commands()[stage])

    def shell(self, lines: list[str]) -> subprocess.CompletedProcess[str]:
        """Run ``lines`` in a shell in the checkout, stopping at the first that fails (as CI)."""
        return subprocess.run(
            ["bash", "-c", "set -e\n" + "\n".join(lines) + "\n"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )

    def checkout(self, itwin_id: str, key: str, jobs: dict[str, bool]) -> None:
        """The repository at a commit with ``jobs`` (name -> submit) in its manifests."""
        manifests = self.root / "manifests"
        (manifests / "jobs").mkdir(parents=True, exist_ok=True)
        (manifests / "rmapply.toml").write_text(
            f'[project]\niTwinId = "{itwin_id}"\nname = "gitops"\n\n'
            f'[state]\nbackend = "postgres"\nkey = "{key}"\nschema = "{pg.TEST_SCHEMA}"\n',
            encoding="utf-8",
        )
        (manifests / "workspaces.toml").write_text('[workspaces.main]\nname = "Main"\n')
        for old in (manifests / "jobs").glob("*.toml"):
            old.unlink()
        for name, submit in jobs.items():
            photos = uuid.uuid5(uuid.NAMESPACE_URL, f"gitops-{name}")
            (manifests / "jobs" / f"{name}.toml").write_text(
                f'[jobs.{name}]\ntype = "Full"\nname = "Site {name}"\nworkspace = "main"\n'
                f'inputs = [{{ id = "{photos}" }}]\nsubmit = {str(submit).lower()}\n'
                f'[jobs.{name}.settings]\nquality = "Draft"\noutputs = ["OBJ"]\n',
                encoding="utf-8",
            )


@pytest.fixture
def database_key() -> Iterator[tuple[str, str]]:
    """The test server's URL and a key of this test's own (deleted afterwards)."""
    url, key = pg.require_server(), pg.new_key()
    yield url, key
    pg.drop_key(url, pg.TEST_SCHEMA, key)


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """``rmapply serve`` in its own process."""
    with serving(tmp_path / "emulator.sqlite") as url:
        yield url


def _runners(
    tmp_path: Path, base_url: str, url: str
) -> tuple[Runner, Runner, RealityModelingClient]:
    assert shutil.which("rmapply", path=BIN), f"no rmapply script in {BIN}"
    env = environment(base_url) | {
        "RMAPPLY_STATE_URL": url,
        "NO_COLOR": "1",
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    }
    a, b = Runner(tmp_path / "clone-a", env), Runner(tmp_path / "clone-b", env)
    return a, b, RealityModelingClient(base_url, StaticToken(TOKEN))


def _jobs(client: RealityModelingClient, itwin_id: str) -> Counter[str]:
    return Counter(j.name for j in client.list_jobs(f"iTwinId eq {itwin_id}", top=1000))


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_gitops_flow_plans_in_review_applies_on_merge_refuses_a_stale_plan_and_checks_drift(
    tmp_path: Path, base_url: str, database_key: tuple[str, str], itwin_id: str
) -> None:
    url, key = database_key
    a, b, client = _runners(tmp_path, base_url, url)
    main = {"site-a": True, "site-b": False}
    a.checkout(itwin_id, key, main)
    _ok(a.shell(["rmapply state init -C manifests"]))  # once, when the team sets it up

    # first pull request, planned and merged from clone A
    _ok(a.stage(PULL_REQUEST))
    markdown = (a.root / "plan.md").read_text(encoding="utf-8")
    assert "jobs.site-a" in markdown and "jobs.site-b" in markdown
    assert _jobs(client, itwin_id) == Counter()  # a plan changes nothing
    _ok(a.stage(MERGE))
    assert _jobs(client, itwin_id) == Counter({"Site site-a": 1, "Site site-b": 1})

    # a second pull request planned in clone B; meanwhile another one merges from clone A
    b.checkout(itwin_id, key, main | {"site-c": True})
    _ok(b.stage(PULL_REQUEST))
    a.checkout(itwin_id, key, main | {"site-d": True})
    _ok(a.stage(PULL_REQUEST))
    _ok(a.stage(MERGE))
    # B merges: main now holds both changes, and B's reviewed plan is stale
    b.checkout(itwin_id, key, main | {"site-c": True, "site-d": True})
    refused = b.stage(MERGE)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "the saved plan is stale" in refused.stderr
    assert "Site site-c" not in _jobs(client, itwin_id)
    # planned again on the merged commit, reviewed, applied
    _ok(b.stage(PULL_REQUEST))
    assert "jobs.site-c" in (b.root / "plan.md").read_text(encoding="utf-8")
    _ok(b.stage(MERGE))
    expected = Counter({f"Site site-{n}": 1 for n in "abcd"})
    assert _jobs(client, itwin_id) == expected
    state = PostgresStateStore(url, key, schema=pg.TEST_SCHEMA).load()
    assert set(state.resources) == {"workspaces.main", *(f"jobs.site-{n}" for n in "abcd")}

    # schedule: no drift (jobs progressing is not drift), carry forward, still no drift
    a.checkout(itwin_id, key, main | {"site-c": True, "site-d": True})
    _ok(a.stage(DRIFT))
    _ok(a.stage(CARRY_FORWARD))
    _ok(a.stage(DRIFT))
    assert _jobs(client, itwin_id) == expected  # nothing duplicated by any run

    # a job changed on the service side: the drift check fails with 2
    site_b = state.resources["jobs.site-b"].remote_id
    client.patch_job(
        site_b, wire.JobPatch.from_wire({"settings": {"quality": "Extra", "outputs": ["OBJ"]}})
    )
    drifted = a.stage(DRIFT)
    assert drifted.returncode == 2, drifted.stdout + drifted.stderr
    assert f"jobs.site-b (job {site_b}): changed outside rmapply" in drifted.stdout
    # and that job deleted there: 2 again, now for a gone job
    client.delete_job(site_b)
    gone = a.stage(DRIFT)
    assert gone.returncode == 2, gone.stdout + gone.stderr
    assert f"jobs.site-b (job {site_b}): no longer exists remotely (404)" in gone.stdout


def _pipeline(runner: Runner, itwin_id: str, key: str) -> None:
    """The repository with a two-stage pipeline: calib (9,060 simulated s: 9 s here, so that
    a loaded machine still runs the first stages while it is active) -> recon (the photos plus
    calib's orientations)."""
    runner.checkout(itwin_id, key, {})
    photos = uuid.uuid5(uuid.NAMESPACE_URL, "gitops-pipeline-photos")
    (runner.root / "manifests" / "jobs" / "quarry.toml").write_text(
        '[jobs.calib]\ntype = "Calibration"\nname = "Quarry calib"\nworkspace = "main"\n'
        f'inputs = [{{ id = "{photos}" }}]\ncostEstimationParameters = {{ gigaPixels = 300 }}\n'
        '[jobs.calib.settings]\nquality = "Draft"\noutputs = ["CCOrientations"]\n\n'
        '[jobs.recon]\ntype = "Reconstruction"\nname = "Quarry recon"\nworkspace = "main"\n'
        f'inputs = [{{ id = "{photos}" }}, {{ id = "jobs.calib.outputs.CCOrientations" }}]\n'
        '[jobs.recon.settings]\nquality = "Draft"\noutputs = ["Cesium 3D Tiles"]\n',
        encoding="utf-8",
    )


def _states(client: RealityModelingClient, itwin_id: str) -> dict[str, str]:
    return {j.name: j.state.value for j in client.list_jobs(f"iTwinId eq {itwin_id}", top=1000)}


def _until(client: RealityModelingClient, itwin_id: str, name: str, state: str) -> None:
    deadline = time.monotonic() + 60
    while _states(client, itwin_id).get(name) != state:
        assert time.monotonic() < deadline, _states(client, itwin_id)
        time.sleep(0.2)


def test_gitops_flow_carries_a_waiting_pipeline_stage_forward_on_the_schedule(
    tmp_path: Path, base_url: str, database_key: tuple[str, str], itwin_id: str
) -> None:
    url, key = database_key
    a, b, client = _runners(tmp_path, base_url, url)
    _pipeline(a, itwin_id, key)
    _ok(a.shell(["rmapply state init -C manifests"]))

    # the merge applies the reviewed plan: both stages created, stage 1 submitted, stage 2 waits
    _ok(a.stage(PULL_REQUEST))
    merged = _ok(a.stage(MERGE))
    assert "jobs.recon: waiting for jobs.calib (active" in merged
    assert _states(client, itwin_id) == {"Quarry calib": "active", "Quarry recon": "unsubmitted"}

    # the schedule, from the other runner, while stage 1 runs: no drift, nothing to carry yet
    _pipeline(b, itwin_id, key)
    _ok(b.stage(DRIFT))
    waiting = _ok(b.stage(CARRY_FORWARD))
    assert "jobs.recon: waiting for jobs.calib (active" in waiting
    assert _states(client, itwin_id)["Quarry recon"] == "unsubmitted"

    # stage 1 succeeded: the drift check still passes, the scheduled apply submits stage 2
    _until(client, itwin_id, "Quarry calib", "success")
    _ok(b.stage(DRIFT))
    _ok(b.stage(CARRY_FORWARD))
    assert _states(client, itwin_id)["Quarry recon"] in ("active", "success")
    _until(client, itwin_id, "Quarry recon", "success")
    _ok(a.stage(DRIFT))
    _ok(a.stage(CARRY_FORWARD))
    assert _jobs(client, itwin_id) == Counter({"Quarry calib": 1, "Quarry recon": 1})
    state = PostgresStateStore(url, key, schema=pg.TEST_SCHEMA).load()
    assert {a: r.job_state for a, r in state.resources.items() if r.kind == "job"} == {
        "jobs.calib": "success",
        "jobs.recon": "success",
    }
