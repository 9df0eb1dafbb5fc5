"""kill -9 of ``rmapply apply`` while a create is in flight, and a re-run at once: no second job."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from rmapply.emulator import Emulator
from rmapply.state import LocalStateStore
from tests.apply.test_apply_processes import RMAPPLY, TIMEOUT, Running, environment, rmapply
from tests.apply.test_cli_apply import write_project

JOBS = "/contextcapture/jobs"


def until(condition: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} did not happen in time"
        time.sleep(0.02)


def test_apply_killed_while_a_create_is_in_flight_and_run_again_at_once_makes_no_second_job(
    tmp_path: Path, emulator: Emulator, token: str, itwin_id: str
) -> None:
    env = environment(emulator, token)
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    journal = project / "state.json.journal"
    emulator.delay_next(1, 8.0, "POST", JOBS)  # the service takes 8 s to make the job
    apply = subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(project), "--auto-approve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # killed once the create is journalled and on the wire (the service holds it)
        until(lambda: emulator.request_count("POST", JOBS) == 1, "the create request")
        assert b'"address":"jobs.a","action":"create"' in journal.read_bytes()
        apply.send_signal(signal.SIGKILL)
    finally:
        apply.wait(timeout=TIMEOUT)
    # at once: the job has not appeared yet, and it must not be created a second time
    again = rmapply(env, "apply", "-C", str(project), "--auto-approve")
    assert emulator.request_count("POST", JOBS) == 1
    if not emulator.jobs():  # still held (always, unless the machine is very slow)
        assert again.returncode == 1, again.stderr
        assert "  jobs.a: the create of job 'Job a' was sent at " in again.stderr
        assert "may still be in flight until" in again.stderr
        assert "Hint: nothing to do by hand: run 'rmapply apply' again after the time shown" in (
            again.stderr
        )
        # a plan shows it too, and plans no create
        plan = rmapply(env, "plan", "-C", str(project))
        if not emulator.jobs():
            assert "may still be in flight" in plan.stdout
            assert "+ jobs.a" not in plan.stdout
    until(lambda: len(emulator.jobs()) == 1, "the held create")
    settled = rmapply(env, "apply", "-C", str(project), "--auto-approve")
    assert settled.returncode == 0, settled.stderr
    (job,) = emulator.jobs()
    state = LocalStateStore(project / "state.json").load()
    assert state.pending == {}
    assert state.resources["jobs.a"].remote_id == job.id
    assert emulator.request_count("POST", JOBS) == 1


def test_three_ctrl_c_while_a_create_is_in_flight_exit_130_and_make_no_second_job(
    tmp_path: Path, emulator: Emulator, token: str, itwin_id: str
) -> None:
    env = environment(emulator, token)
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    emulator.delay_next(1, 8.0, "POST", JOBS)  # the service takes 8 s to make the job
    with Running(["apply", "-C", str(project), "--auto-approve"], env) as apply:
        until(lambda: emulator.request_count("POST", JOBS) == 1, "the create request")
        for _ in range(3):  # the first asks apply to finish its calls; the others insist
            apply.process.send_signal(signal.SIGINT)
            time.sleep(0.2)  # not a race: each Ctrl-C only has to arrive, in any state
        code, _, err = apply.finish()
    assert code == 130, err
    assert err.rstrip("\n").endswith("Interrupted.") and "Aborted" not in err
    until(lambda: len(emulator.jobs()) == 1, "the held create")
    settled = rmapply(env, "apply", "-C", str(project), "--auto-approve")
    assert settled.returncode == 0, settled.stderr
    (job,) = emulator.jobs()
    assert LocalStateStore(project / "state.json").load().resources["jobs.a"].remote_id == job.id
    assert emulator.request_count("POST", JOBS) == 1
