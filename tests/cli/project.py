"""A small project written into a folder, and a CliRunner call that returns what a user sees."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rmapply.cli import cli

JOB = """\
[jobs.{key}]
type = "Full"
name = "{name}"
workspace = "main"
inputs = [{{ id = "photos-{key}", description = "drone photos" }}]
submit = {submit}
[jobs.{key}.settings]
quality = "{quality}"
outputs = ["OBJ", "Cesium 3D Tiles"]
[jobs.{key}.costEstimationParameters]
gigaPixels = 2.0
megaPoints = 10.0
"""


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
        values = {"key": key, "name": f"Site {key}", "quality": "Medium", "submit": "true"}
        values.update(fields)
        (jobs_dir / f"{key}.toml").write_text(JOB.format(**values), encoding="utf-8")
    return folder


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Invoke rmapply in process; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), env=env or {})
    return result.exit_code, result.stdout, result.stderr
