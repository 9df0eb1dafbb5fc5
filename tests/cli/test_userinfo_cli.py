"""An endpoint written with userinfo (``http://user:password@host/``) works, and no message the
CLI prints shows the password."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rmapply.emulator import Emulator, EmulatorOptions
from tests.cli.project import run, write_project
from tests.conftest import FAST

PASSWORD = "pw-S3CRET-9"


def _with_userinfo(url: str) -> str:
    return url.replace("http://", f"http://someone:{PASSWORD}@", 1)


def test_import_of_a_missing_job_names_the_endpoint_without_its_password(
    tmp_path: Path, itwin_id: str, emulator: Emulator
) -> None:
    write_project(tmp_path, itwin_id)
    endpoint = _with_userinfo(emulator.base_url)
    env = {"RMAPPLY_TOKEN": "t", "RMAPPLY_ENDPOINT": endpoint, "NO_COLOR": "1"}
    code, out, err = run("import", "-C", str(tmp_path), "jobs.site-a", "nope", env=env)
    assert code == 1
    shown = emulator.base_url.replace("http://", "http://***@")
    assert err.splitlines()[0] == f"Error: there is no job nope at {shown}"
    assert PASSWORD not in out + err


def test_a_saved_plan_applied_elsewhere_names_the_endpoint_without_its_password(
    tmp_path: Path, itwin_id: str, emulator_factory: Callable[..., Emulator]
) -> None:
    first = emulator_factory(EmulatorOptions(speed=FAST))
    second = emulator_factory(EmulatorOptions(speed=FAST))
    write_project(tmp_path, itwin_id)
    env = {"RMAPPLY_TOKEN": "t", "NO_COLOR": "1"}
    planfile = tmp_path / "plan.json"
    code, _, err = run(
        "plan", "-C", str(tmp_path), "--out", str(planfile), "--endpoint",
        _with_userinfo(first.base_url), env=env,
    )  # fmt: skip
    assert code == 0, err
    assert PASSWORD not in planfile.read_text("utf-8")
    code, out, err = run(
        "apply", "-C", str(tmp_path), str(planfile), "--auto-approve", "--endpoint",
        _with_userinfo(second.base_url), env=env,
    )  # fmt: skip
    assert code == 1
    assert err.splitlines()[0] == (
        f"Error: the saved plan was made against {first.base_url}, "
        f"not {second.base_url}"  # credentials are stripped before endpoints are compared
    )
    assert PASSWORD not in out + err
