"""Replayed as written, across a process boundary: the state file deleted after a killed apply
left its journal (issue 8), and a --cancel-replaced apply killed before its cancel (issue 9)."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.state import LocalStateStore
from tests.apply.test_apply_processes import RMAPPLY, TIMEOUT, environment, rmapply
from tests.apply.test_cli_apply import write_project
from tests.apply.test_in_flight_processes import JOBS, until


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
    write_project(project, itwin_id, {"a": "", "b": "", "c": ""})
    emulator.delay_next(1, 8.0, "POST", JOBS)  # the new create is held on the wire
    apply = subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(project), "--auto-approve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until(lambda: emulator.request_count("POST", JOBS) == 3, "the new create request")
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
    until(lambda: len(emulator.jobs()) == 3, "the held create")
    for _ in range(2):  # the held create is settled from the service, then submitted
        done = rmapply(env, "apply", "-C", str(project), "--auto-approve")
        if done.returncode == 0:
            break
    assert done.returncode == 0, done.stderr
    names = Counter(job.name for job in emulator.jobs())
    assert names == {"Job a": 1, "Job b": 1, "Job c": 1}
    recorded = LocalStateStore(state).load().resources
    assert {recorded[f"jobs.{k}"].remote_id for k in "abc"} == {j.id for j in emulator.jobs()}


def test_cancel_replaced_survives_a_kill_and_a_later_apply_cancels_the_old_job(
    tmp_path: Path, emulator_factory: Callable[..., Emulator], token: str, itwin_id: str
) -> None:
    slow = emulator_factory(EmulatorOptions(speed=1.0))  # the old job keeps running
    env = environment(slow, token)
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    assert rmapply(env, "apply", "-C", str(project), "--auto-approve").returncode == 0
    old = LocalStateStore(project / "state.json").load().resources["jobs.a"].remote_id
    (project / "jobs" / "a.toml").write_text(
        (project / "jobs" / "a.toml").read_text().replace('"OBJ"', '"LAS"')
    )
    patches = slow.request_count("PATCH", JOBS)
    slow.delay_next(1, 8.0, "PATCH", JOBS)  # the submit of the replacement, held on the wire
    apply = subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(project), "--auto-approve", "--cancel-replaced"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until(lambda: slow.request_count("PATCH", JOBS) > patches, "the replacement's submit")
        apply.send_signal(signal.SIGKILL)  # before the old job could be cancelled
    finally:
        apply.wait(timeout=TIMEOUT)
    assert slow.job(old).state.value == "active"
    until(lambda: all(j.state.value == "active" for j in slow.jobs()), "the held submit")
    # no flag now: the cancel recorded by the killed apply is carried out
    done = rmapply(env, "apply", "-C", str(project), "--auto-approve")
    assert done.returncode == 0, done.stderr
    assert slow.job(old).state.value == "cancelled"
    record = LocalStateStore(project / "state.json").load().resources["jobs.a"]
    assert slow.job(record.remote_id).state.value == "active"
    assert [(h.id, h.cancel) for h in record.history] == [(old, "done")]
    assert len(slow.jobs()) == 2
