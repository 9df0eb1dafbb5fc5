"""Issue 8, as written: the state file deleted after a killed apply left its journal. Every
command refuses with the restore command; nothing is created twice; restore brings it back."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from pathlib import Path

from rmapply.emulator import Emulator
from rmapply.state import LocalStateStore
from tests.apply.test_apply_processes import RMAPPLY, TIMEOUT, environment, rmapply
from tests.apply.test_cli_apply import write_project
from tests.apply.test_in_flight_processes import JOBS, _until


def _beside(state: Path) -> dict[str, bytes]:
    """The files beside the state (lock files aside) and in its versions folder, with bytes."""
    found = [p for p in state.parent.glob(f"{state.name}*") if ".lock" not in p.name]
    found += list((state.parent / f"{state.name}.versions").glob("*"))
    return {str(p): p.read_bytes() for p in sorted(found) if p.is_file()}


def test_state_deleted_after_a_killed_apply_is_refused_and_restored_without_duplicates(
    tmp_path: Path, emulator: Emulator, token: str, itwin_id: str
) -> None:
    env = environment(emulator, token)
    project = write_project(tmp_path / "p", itwin_id, {"a": "", "b": ""})
    assert rmapply(env, "apply", "-C", str(project), "--auto-approve").returncode == 0
    write_project(project, itwin_id, {"a": "", "b": "", "c": "", "d": ""})
    emulator.delay_next(1, 8.0, "POST", JOBS)  # one of the two new creates is held on the wire
    apply = subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(project), "--auto-approve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _until(lambda: emulator.request_count("POST", JOBS) >= 3, "a new create request")
        apply.send_signal(signal.SIGKILL)
    finally:
        apply.wait(timeout=TIMEOUT)
    state = project / "state.json"
    assert (project / "state.json.journal").exists()
    state.unlink()  # the first-week mistake
    traces = _beside(state)
    sent = emulator.request_count("POST", JOBS)
    for command in (["plan"], ["apply", "--auto-approve"], ["refresh"], ["status"]):
        done = rmapply(env, *command, "-C", str(project))
        assert (done.returncode, done.stdout) == (1, ""), (command, done.stderr)
        assert done.stderr.startswith(
            f"Error: state file {state} is missing, but traces of an earlier state are beside it"
        )
        assert f"  {project}/state.json.journal: " in done.stderr
        assert f"'rmapply state restore -C {project}' restores " in done.stderr
        assert "Traceback" not in done.stderr
    assert _beside(state) == traces  # nothing overwritten, not the backup, not a version
    assert emulator.request_count("POST", JOBS) == sent  # nothing sent again
    restored = rmapply(env, "state", "restore", "-C", str(project))
    assert restored.returncode == 0, restored.stderr
    _until(lambda: len(emulator.jobs()) == 4, "the held create")
    for _ in range(2):  # the held create is settled from the service, then submitted
        done = rmapply(env, "apply", "-C", str(project), "--auto-approve")
        if done.returncode == 0:
            break
    assert done.returncode == 0, done.stderr
    names = Counter(job.name for job in emulator.jobs())
    assert names == {"Job a": 1, "Job b": 1, "Job c": 1, "Job d": 1}
    recorded = LocalStateStore(state).load().resources
    assert {recorded[f"jobs.{k}"].remote_id for k in "abcd"} == {j.id for j in emulator.jobs()}
