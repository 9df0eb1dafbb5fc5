"""Output references (``jobs.KEY.outputs.FORMAT``) through the CLI: validate and render accept
them; plan and apply refuse them until the planner fills them in, and nothing is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rmapply.emulator import Emulator
from tests.cli.project import photos_id, run

PIPELINE = """\
[jobs.calib]
type = "Calibration"
name = "Calibration"
workspace = "main"
inputs = [{{ id = "{photos}" }}]
settings = {{ quality = "Medium", outputs = ["CCOrientations"] }}

[jobs.recon]
type = "Reconstruction"
name = "Reconstruction"
workspace = "main"
inputs = [{{ id = "{photos}" }}, {{ id = "jobs.calib.outputs.CCOrientations" }}]
settings = {{ quality = "Medium", outputs = ["Cesium 3D Tiles"] }}
"""


@pytest.fixture
def pipeline(tmp_path: Path, itwin_id: str) -> Path:
    """A project with a Calibration -> Reconstruction pipeline."""
    (tmp_path / "rmapply.toml").write_text(f'[project]\niTwinId = "{itwin_id}"\n', "utf-8")
    (tmp_path / "workspaces.toml").write_text('[workspaces.main]\nname = "Main"\n', "utf-8")
    (tmp_path / "jobs.toml").write_text(PIPELINE.format(photos=photos_id("p")), "utf-8")
    return tmp_path


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


def test_validate_accepts_a_pipeline(pipeline: Path) -> None:
    code, out, err = run("validate", "-C", str(pipeline), "--no-cache")
    assert (code, err) == (0, "")
    assert out.startswith("Valid: 1 workspace, 2 jobs")


def test_render_shows_a_reference_as_written(pipeline: Path) -> None:
    code, out, _ = run("render", "-C", str(pipeline), "--format", "yaml", "--no-cache")
    assert code == 0
    inputs = yaml.safe_load(out)["jobs"]["recon"]["inputs"]
    assert inputs[1] == {"id": "jobs.calib.outputs.CCOrientations"}


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")])
def test_plan_and_apply_refuse_references_and_send_nothing(
    pipeline: Path, env: dict[str, str], emulator: Emulator, command: tuple[str, ...]
) -> None:
    code, out, err = run(*command, "-C", str(pipeline), env=env)
    assert code == 1, (out, err)
    assert "output references are validated but not applied yet" in err
    assert "jobs.recon (jobs.toml:8): input jobs.calib.outputs.CCOrientations" in err
    assert emulator.jobs() == []
    assert emulator.workspaces() == []
