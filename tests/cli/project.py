"""A small project written into a folder, and a CliRunner call that returns what a user sees."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rmapply.cli import cli

JOB = """\
[jobs.{key}]
type = "Full"
name = "{name}"
workspace = "main"
inputs = [{{ id = "{photos}", description = "drone photos" }}]
submit = {submit}
[jobs.{key}.settings]
quality = "{quality}"
outputs = ["OBJ", "Cesium 3D Tiles"]
[jobs.{key}.costEstimationParameters]
gigaPixels = 2.0
megaPoints = 10.0
"""


def photos_id(key: str, variant: str = "") -> str:
    """The reality-data id of job ``key``'s photos: a GUID (ids are GUIDs), the same every run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"photos-{key}{variant}"))


def write_project(
    folder: Path,
    itwin_id: str,
    jobs: dict[str, dict[str, str]] | None = None,
    *,
    extra_config: str = "",
) -> Path:
    """rmapply.toml, workspace ``main`` and one TOML file per job (defaults: Medium, submit)."""
    (folder / "rmapply.toml").write_text(
        f'[project]\niTwinId = "{itwin_id}"\n{extra_config}', encoding="utf-8"
    )
    (folder / "workspaces.toml").write_text('[workspaces.main]\nname = "Main"\n', encoding="utf-8")
    jobs_dir = folder / "jobs"
    jobs_dir.mkdir(exist_ok=True)
    for old in jobs_dir.glob("*.toml"):
        old.unlink()
    for key, fields in (jobs if jobs is not None else {"site-a": {}}).items():
        values = {
            "key": key,
            "name": f"Site {key}",
            "quality": "Medium",
            "submit": "true",
            "photos": photos_id(key),
        }
        values.update(fields)
        (jobs_dir / f"{key}.toml").write_text(JOB.format(**values), encoding="utf-8")
    return folder


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Invoke rmapply in process; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), env=env or {})
    return result.exit_code, result.stdout, result.stderr


REPO = Path(__file__).resolve().parents[2]


@contextmanager
def lock_held(state_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the state lock of ``state_path`` (as 'apply --test')."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.state.workers", "hold-lock", str(state_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "LOCKED"
        yield process
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def apply(folder: Path, env: dict[str, str], *extra: str) -> str:
    """``rmapply apply --auto-approve`` that must succeed; its stdout."""
    code, out, err = run("apply", "-C", str(folder), "--auto-approve", *extra, env=env)
    assert code == 0, (out, err)
    return out


def state_of(folder: Path, *, local: bool = False) -> dict[str, Any]:
    """The state file of the project in ``folder`` (with ``local``: of --local), as JSON."""
    path = folder / (".rmapply/local/state.json" if local else "rmapply.state.json")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def remote_id(folder: Path, address: str, *, local: bool = False) -> str:
    """The remote id of ``address`` in the project's state (with ``local``: of --local)."""
    return str(state_of(folder, local=local)["resources"][address]["remote_id"])


GOLDEN = REPO / "tests" / "output" / "golden"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def normalised(text: str, keep: tuple[str, ...] = ()) -> str:
    """``text`` with every id numbered in order of appearance and every moment blanked."""
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        found = match.group(0)
        if found in keep:
            return found
        return numbers.setdefault(found, f"<id-{len(numbers) + 1}>")

    return _MOMENT.sub("<moment>", _UUID.sub(number, text))


def check_golden(name: str, text: str) -> None:
    """``text`` equals tests/output/golden/<name> (RMAPPLY_UPDATE_GOLDEN=1 rewrites it)."""
    path = GOLDEN / name
    if os.environ.get("RMAPPLY_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with RMAPPLY_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
