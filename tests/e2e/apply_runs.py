"""Apply in its own process against ``rmapply serve`` in another: start, kill, converge, check."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rmapply.client import RealityModelingClient, StaticToken
from rmapply.state import IntentRecord, LocalStateStore, ResultRecord
from rmapply.state.journal import read_journal

TOKEN = "crash-token"
RMAPPLY = [sys.executable, "-c", "from rmapply.cli import main; main()"]
RUN_TIMEOUT = 120
STATE = "rmapply.state.json"
# a lost create is judged "not created" only after these (seconds): together longer than the
# slow service's POSTs (at most 3 s), and short enough that converging waits only seconds
READ_TIMEOUT = 2.5
IN_FLIGHT_MARGIN = 2.0


def free_port() -> int:
    """A port no one listens on now (the emulator is restarted on it with other faults)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(data: Path, *faults: str, port: int = 0, seed: int = 1) -> Iterator[str]:
    """``rmapply serve`` in its own process, with a data file (so it can be restarted)."""
    command = [
        *RMAPPLY,
        "serve",
        "--port",
        str(port),
        "--data",
        str(data),
        "--token",
        TOKEN,
        "--speed",
        "1000",
        "--seed",
        str(seed),
        *faults,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()  # type: ignore[union-attr]


def job_name(n: int) -> str:
    """The name of manifest job ``n`` (the emulator's records are checked by name)."""
    return f"Crash job {n}"


def _short_in_flight_window() -> str:
    """``[api]`` settings that keep the in-flight window of a lost create a few seconds long
    (readTimeout + inFlightMargin, both 60 s by default)."""
    return f"[api]\nreadTimeout = {READ_TIMEOUT}\ninFlightMargin = {IN_FLIGHT_MARGIN}\n\n"


def write_project(root: Path, itwin_id: str, *, parallelism: int = 4) -> Path:
    """A manifests directory with one workspace and no jobs yet."""
    root.mkdir(parents=True)
    (root / "rmapply.toml").write_text(
        f'[project]\niTwinId = "{itwin_id}"\nname = "crash"\n\n'
        + _short_in_flight_window()
        + f'[state]\npath = "{STATE}"\n\n[apply]\nparallelism = {parallelism}\n'
    )
    (root / "workspaces.toml").write_text('[workspaces.main]\nname = "Crash test"\n')
    (root / "jobs").mkdir()
    return root


def add_jobs(root: Path, numbers: range) -> None:
    """Add jobs ``numbers`` to the manifests (each a new job to create and submit)."""
    for i in numbers:
        (root / "jobs" / f"j{i}.toml").write_text(
            f'[jobs.j{i}]\ntype = "Full"\nname = "{job_name(i)}"\nworkspace = "main"\n'
            f'inputs = [{{ id = "{uuid.uuid4()}" }}]\n'
            f'[jobs.j{i}.settings]\nquality = "Draft"\noutputs = ["OBJ", "LAS"]\n'
        )


def environment(base_url: str) -> dict[str, str]:
    """The environment of an apply against ``base_url`` (no RMAPPLY_* of the caller's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
    env |= {"RMAPPLY_ENDPOINT": base_url, "RMAPPLY_TOKEN": TOKEN, "RMAPPLY_POLL_SCALE": "0.001"}
    return env


def run(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``rmapply ARGS -C PROJECT`` to the end."""
    return subprocess.run(
        [*RMAPPLY, *args, "-C", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def start_apply(
    project: Path, env: dict[str, str], *extra: str, output: bool = False
) -> subprocess.Popen[str]:
    """``rmapply apply -C PROJECT --auto-approve [EXTRA...]`` in the background."""
    pipe = subprocess.PIPE if output else subprocess.DEVNULL
    return subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(project), "--auto-approve", *extra],
        env=env,
        stdout=pipe,
        stderr=pipe,
        text=True,
    )


@dataclass(frozen=True)
class Journalled:
    """What a journal holds: its records, and the intents without a result (calls in flight)."""

    records: int
    open_intents: tuple[IntentRecord, ...]
    started: datetime | None = None  # its header's time: a new journal has another one


def journalled(project: Path) -> Journalled:
    """The journal of ``project`` as it is now (empty when there is none)."""
    contents = read_journal(project / f"{STATE}.journal")
    if contents is None or contents.header is None:
        return Journalled(0, ())
    intents: dict[int, IntentRecord] = {}
    for entry in contents.entries:
        if isinstance(entry, IntentRecord):
            intents[entry.seq] = entry
        elif isinstance(entry, ResultRecord):
            intents.pop(entry.seq, None)
    return Journalled(len(contents.entries), tuple(intents.values()), contents.header.created_at)


def wait_for_journal(
    project: Path,
    process: subprocess.Popen[str],
    records: int,
    *,
    creates_in_flight: bool = False,
    not_started: datetime | None = None,
) -> None:
    """Return once the journal holds ``records`` records (and, if asked, a create in flight;
    and, if given, is not the journal started at ``not_started``), or once ``process`` ended."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        now = journalled(project)
        in_flight = any(i.action == "create" for i in now.open_intents)
        new = not_started is None or (now.started is not None and now.started != not_started)
        if now.records >= records and new and (in_flight or not creates_in_flight):
            return
        time.sleep(0.002)


def jobs_by_name(base_url: str, itwin_id: str) -> Counter[str]:
    """How many jobs of each name the emulator holds in ``itwin_id``."""
    with RealityModelingClient(base_url, StaticToken(TOKEN)) as client:
        return Counter(j.name for j in client.list_jobs(f"iTwinId eq {itwin_id}", top=1000))


def check(project: Path, base_url: str, itwin_id: str, numbers: range) -> None:
    """Exactly one job per manifest address in the emulator, and the state holds every id."""
    with RealityModelingClient(base_url, StaticToken(TOKEN)) as client:
        jobs = list(client.list_jobs(f"iTwinId eq {itwin_id}", top=1000))
    names = Counter(j.name for j in jobs)
    assert names == Counter({job_name(i): 1 for i in numbers}), names
    state = LocalStateStore(project / STATE).load()
    assert state.pending == {}
    by_name = {j.name: j for j in jobs}
    for i in numbers:
        record = state.resources[f"jobs.j{i}"]
        job = by_name[job_name(i)]
        assert record.remote_id == job.id
        assert record.outputs == job.output_ids()
        assert job.state.is_submitted
    assert {j.workspace_id for j in jobs} == {state.resources["workspaces.main"].remote_id}


def converge(
    project: Path,
    env: dict[str, str],
    *extra: str,
    rounds: int = 6,
    patience: float = 300,
) -> int:
    """Apply (with ``extra`` options) again and again, with no other command, until plan has
    nothing left to do; returns the applies it took. A create that may still be in flight stays
    pending until its window has passed: such a round waits a little and does not count."""
    notes: list[str] = []
    applies = 0
    deadline = time.monotonic() + patience
    while applies < rounds and time.monotonic() < deadline:
        done = run(project, env, "apply", "--auto-approve", *extra)
        plan = run(project, env, "plan", "--detailed-exitcode")
        applies += 1
        if done.returncode == 0 and plan.returncode == 0:
            return applies
        said = done.stdout + done.stderr + plan.stdout + plan.stderr
        notes.append(f"apply exited {done.returncode}, plan {plan.returncode}: {said[-400:]}")
        if "in flight" in said:
            applies -= 1  # the window of a create still in flight passes by itself
            time.sleep(2.0)
    raise AssertionError("apply did not converge: " + " | ".join(notes[-4:]))
