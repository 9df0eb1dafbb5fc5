"""``rmapply apply``, ``status`` and ``wait`` as separate processes: Ctrl-C (SIGINT), a second
apply at the same time, re-attaching later, and progress bars on a terminal."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rmapply.emulator import Emulator
from rmapply.state import LocalStateStore
from tests.apply.test_cli_apply import write_project

RMAPPLY = [sys.executable, "-c", "from rmapply.cli import main; main()"]
# Ctrl-C as a terminal sends it, even when this test runs in a background job (which starts its
# children with SIGINT ignored, so that Python would not turn it into KeyboardInterrupt)
INTERRUPTIBLE = [
    sys.executable,
    "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from rmapply.cli import main; main()",
]
TIMEOUT = 60


def environment(emulator: Emulator, token: str) -> dict[str, str]:
    """The process environment that points rmapply at ``emulator``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
    env |= {"RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": token}
    return env | {"RMAPPLY_POLL_SCALE": "0.002"}


class Running:
    """A command running in its own process, its stdout read line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [*INTERRUPTIBLE, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:  # a failed test: never leave it running
            self.process.kill()
        self.process.communicate()

    def read_until(self, seen: Callable[[str], bool]) -> str:
        """Read stdout until a line for which ``seen`` is true; that line."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError("the command ended early:\n" + "".join(self.lines))
            self.lines.append(line)
            if seen(line.rstrip("\n")):
                return line
        raise AssertionError("line not seen in time:\n" + "".join(self.lines))

    def finish(self) -> tuple[int, str, str]:
        """Exit code, the whole stdout and stderr (the process is killed if it hangs)."""
        try:
            out, err = self.process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise
        return self.process.returncode, "".join(self.lines) + out, err


def rmapply(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run one rmapply command to its end."""
    return subprocess.run(
        [*RMAPPLY, *args], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _is_progress(line: str) -> bool:
    return line.startswith("jobs.") and "% Active" in line


def test_ctrl_c_stops_waiting_leaves_jobs_running_and_a_later_process_re_attaches(
    tmp_path: Path, emulator_factory, token: str, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0)  # a job takes over a minute
    env = environment(slow, token)
    project = write_project(tmp_path / "p", itwin_id, {"a": "", "b": ""})
    with Running(["apply", "-C", str(project), "--auto-approve", "--wait"], env) as apply:
        # polling starts with the first submit: wait until both were sent, then a poll
        apply.read_until(
            lambda _: all(
                any(seen.startswith(f"jobs.{key}: submitted") for seen in apply.lines)
                for key in "ab"
            )
        )
        apply.read_until(_is_progress)
        apply.process.send_signal(signal.SIGINT)
        code, out, err = apply.finish()
    assert (code, err) == (130, "")
    assert (
        "Stopped waiting (interrupted); 2 job(s) keep running on the service: run 'rmapply "
        "wait' to re-attach, 'rmapply status' to look"
    ) in out
    assert out.rstrip().endswith(
        "Interrupted: what was done is recorded in the state; jobs keep running."
    )
    jobs = {j.name: j for j in slow.jobs()}
    assert {n: j.state.value for n, j in jobs.items()} == {"Job a": "active", "Job b": "active"}
    state = LocalStateStore(project / "state.json").load()
    assert state.pending == {}
    assert not (project / "state.json.journal").exists()
    for key in ("a", "b"):
        record = state.resources[f"jobs.{key}"]
        assert record.remote_id == jobs[f"Job {key}"].id
        assert record.remote is not None and record.remote["state"] == "active"
    # later processes: status reads the live state; wait re-attaches from the state alone
    status = rmapply(env, "status", "-C", str(project))
    assert status.returncode == 0, status.stderr
    assert [line.split(" ")[:2] for line in status.stdout.splitlines()] == [
        ["jobs.a:", "active"],
        ["jobs.b:", "active"],
    ]
    slow.set_speed(1000.0)
    waited = rmapply(env, "wait", "-C", str(project), "jobs.a")
    assert (waited.returncode, waited.stderr) == (0, "")
    assert waited.stdout.rstrip().endswith("Waited for 1 job(s): 1 success.")
    state = LocalStateStore(project / "state.json").load()
    assert state.resources["jobs.a"].remote["state"] == "success"
    assert state.resources["jobs.b"].remote["state"] == "active"  # not named: not waited for


def test_ctrl_c_while_creating_records_every_job_the_service_made_and_a_rerun_completes(
    tmp_path: Path, emulator_factory, token: str, itwin_id: str
) -> None:
    paced = emulator_factory(speed=1000.0, latency_ms=80)
    env = environment(paced, token)
    jobs = {f"j{i}": "" for i in range(16)}
    project = write_project(tmp_path / "p", itwin_id, jobs)
    command = ["apply", "-C", str(project), "--auto-approve", "--parallelism", "2"]
    with Running(command, env) as apply:
        apply.read_until(lambda line: line.startswith("jobs.") and ": created [id=" in line)
        apply.process.send_signal(signal.SIGINT)
        code, out, err = apply.finish()
    assert (code, err) == (130, "")
    assert ": create skipped: apply was interrupted" in out
    state = LocalStateStore(project / "state.json").load()
    assert state.pending == {}
    made = {j.id for j in paced.jobs()}
    assert 0 < len(made) < len(jobs)
    assert {r.remote_id for r in state.resources.values() if r.kind == "job"} == made
    rerun = rmapply(env, "apply", "-C", str(project), "--auto-approve")
    assert rerun.returncode == 0, rerun.stderr
    names = sorted(j.name for j in paced.jobs())
    assert names == sorted(f"Job {k}" for k in jobs)
    assert all(j.state.is_submitted for j in paced.jobs())


def test_apply_wait_lets_go_of_the_lock_while_it_only_waits_and_takes_it_back_to_record(
    tmp_path: Path, emulator_factory, token: str, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0)
    env = environment(slow, token)
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    with Running(["apply", "-C", str(project), "--auto-approve", "--wait"], env) as first:
        first.read_until(_is_progress)
        # once its submits are made, the waiting apply writes the state and lets go of the lock
        deadline = time.monotonic() + TIMEOUT
        while (project / "state.json.journal").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (project / "state.json.journal").exists()
        write_project(project, itwin_id, {"a": "", "b": ""})
        second = rmapply(env, "apply", "-C", str(project), "--auto-approve")
        assert second.returncode == 0, second.stderr
        assert sorted(j.name for j in slow.jobs()) == ["Job a", "Job b"]
        first.process.send_signal(signal.SIGINT)
        assert first.finish()[0] == 130
    state = LocalStateStore(project / "state.json").load()
    assert sorted(state.resources) == ["jobs.a", "jobs.b", "workspaces.main"]
    assert state.pending == {}


def test_wait_on_a_terminal_draws_a_progress_bar_per_job(
    tmp_path: Path, emulator_factory, token: str, itwin_id: str
) -> None:
    # The simulated clock is frozen and moved on by this test, a few seconds each time the
    # terminal has been quiet: however slow the machine, every job is seen Active by several
    # polls, and each step's first poll redraws the board with both rows. (It failed 1 run in
    # 15: with a running clock a loaded machine could miss the short Active phase, and a bar
    # was looked for at a line start, where a redrawn board's first row is not.)
    paced = emulator_factory(speed=0.0)
    env = environment(paced, token) | {"RMAPPLY_POLL_SCALE": "0.005", "COLUMNS": "100"}
    project = write_project(tmp_path / "p", itwin_id, {"a": "", "b": ""})
    master, slave = os.openpty()
    process = subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(project), "--auto-approve", "--wait"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.3)
            if not ready:  # quiet: the jobs wait for the clock (at most 65 s of it per job)
                paced.advance(5)
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(master)
    assert process.wait(timeout=TIMEOUT) == 0, screen.decode(errors="replace")
    text = screen.decode(errors="replace").replace("\r\n", "\n")
    assert "\x1b[2F\x1b[J" in text  # the two-row board is redrawn in place
    # a redrawn board's first row follows the cursor movement, not a line start
    rows = re.sub(r"\x1b\[\d+F\x1b\[J", "", text)
    bars = re.findall(r"^(jobs\.[ab])\s+\[[#-]{24}\]\s+\d+% Active", rows, re.MULTILINE)
    assert {"jobs.a", "jobs.b"} <= set(bars)
    # one line per event is still printed above the board; polls make no lines of their own
    assert not re.search(r"^jobs\.a: \d+% Active", text, re.MULTILINE)
    assert "jobs.a: job success [id=" in text


def test_apply_whose_reader_goes_away_still_applies_and_records_everything(
    tmp_path: Path, emulator_factory, token: str, itwin_id: str
) -> None:
    paced = emulator_factory(speed=1000.0, latency_ms=20)
    env = environment(paced, token)
    jobs = {f"j{i}": "" for i in range(6)}
    project = write_project(tmp_path / "p", itwin_id, jobs)
    # as in 'rmapply apply ... --json | head -1'
    process = subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(project), "--auto-approve", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b'{"formatVersion":1,"event":"plan"')
    process.stdout.close()
    with process.stderr:
        err = process.stderr.read()
    assert (process.wait(timeout=TIMEOUT), err) == (0, b"")
    state = LocalStateStore(project / "state.json").load()
    made = {j.name: j for j in paced.jobs()}
    assert sorted(made) == sorted(f"Job {k}" for k in jobs)
    for key in jobs:
        assert state.resources[f"jobs.{key}"].remote_id == made[f"Job {key}"].id
    assert all(j.state.is_submitted for j in made.values())
