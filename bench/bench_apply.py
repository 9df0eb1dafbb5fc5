"""Benchmark: apply throughput and the cost of journalling (run by hand, not a test).

    .venv/bin/python bench/bench_apply.py [--jobs 1000] [--latency-jobs 500] [--skip-latency]

1. ``rmapply apply -C DIR --local --auto-approve`` as a whole process, DIR holding --jobs jobs that
   are created and submitted, default parallelism (target: 1,000 jobs in at most 5 s).
2. The same through ``RMAPPLY_ENDPOINT`` against ``rmapply serve --latency-ms 100`` with
   --latency-jobs jobs at ``--parallelism 16`` (target: at most 1.3 x the ideal
   jobs x 2 x 0.1 s / 16).
3. The journal: microseconds per intent + result pair with 10 and with 10,000 resources in state,
   median of 5 interleaved rounds after a warm-up (target: the same; the journal appends, it never
   rewrites the state).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RMAPPLY = [sys.executable, "-c", "from rmapply.cli import main; main()"]
TOKEN = "bench-token"


def write_project(root: Path, jobs: int, *, parallelism: int | None = None) -> Path:
    """A manifests directory with one workspace and ``jobs`` jobs in one TOML file."""
    root.mkdir(parents=True)
    apply_table = f"\n[apply]\nparallelism = {parallelism}\n" if parallelism else ""
    (root / "rmapply.toml").write_text(
        f'[project]\niTwinId = "{uuid.uuid4()}"\nname = "bench"\n\n'
        f'[state]\npath = "rmapply.state.json"\n{apply_table}'
    )
    (root / "workspaces.toml").write_text('[workspaces.main]\nname = "Bench"\n')
    lines = []
    for i in range(jobs):
        lines.append(
            f'[jobs.j{i}]\ntype = "Full"\nname = "Bench job {i}"\nworkspace = "main"\n'
            f'inputs = [{{ id = "{uuid.uuid4()}" }}]\n'
            f'[jobs.j{i}.settings]\nquality = "Draft"\noutputs = ["OBJ"]\n'
        )
    (root / "jobs.toml").write_text("\n".join(lines))
    return root


def timed(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds of ``command`` from spawn to exit; raises if it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[3:])} failed:\n{done.stderr[-2000:]}")
    return elapsed


def bench_local(jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(Path(tmp) / "p", jobs)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
        seconds = timed([*RMAPPLY, "apply", "-C", str(project), "--local", "--auto-approve"], env)
        print(
            f"local: {jobs} jobs created and submitted in {seconds:.2f} s (whole process, "
            f"parallelism 8) = {2 * jobs / seconds:.0f} API calls/s"
        )


def bench_latency(jobs: int, parallelism: int, latency_ms: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [
                *RMAPPLY,
                "serve",
                "--port",
                "0",
                "--data",
                f"{tmp}/e.sqlite3",
                "--token",
                TOKEN,
                "--latency-ms",
                str(latency_ms),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            project = write_project(Path(tmp) / "p", jobs)
            env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
            env |= {"RMAPPLY_ENDPOINT": url, "RMAPPLY_TOKEN": TOKEN}
            command = [
                *RMAPPLY,
                "apply",
                "-C",
                str(project),
                "--auto-approve",
                "--parallelism",
                str(parallelism),
            ]
            seconds = timed(command, env)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
    ideal = jobs * 2 * latency_ms / 1000 / parallelism
    print(
        f"latency {latency_ms:g} ms: {jobs} jobs (create + submit) at parallelism "
        f"{parallelism} in {seconds:.2f} s; ideal {ideal:.2f} s; ratio {seconds / ideal:.2f} "
        "(whole process, including the workspace create and start-up)"
    )


def bench_journal(
    sizes: tuple[int, ...] = (10, 10_000), records: int = 500, rounds: int = 5
) -> None:
    """Median over ``rounds`` (sizes interleaved, after a warm-up) of the cost of recording."""
    sys.path.insert(0, str(REPO))
    from rmapply.apply.recording import Recorder
    from rmapply.state import LocalStateStore, ResourceRecord, StateDocument
    from rmapply.state.statefile import write_state

    now = datetime.now(UTC)
    remote = {
        "id": "x",
        "state": "active",
        "estimatedCost": 1.0,
        "jobSettings": {"outputs": [{"format": "OBJ", "id": "o"}]},
    }

    def one_round(size: int) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "state.json"
            document = StateDocument()
            for i in range(size):
                address = f"jobs.existing-{i}"
                document.resources[address] = ResourceRecord(
                    address=address,
                    kind="job",
                    remote_id=str(uuid.uuid4()),
                    spec={"name": f"existing {i}"},
                    remote=remote,
                    outputs={"OBJ": "o"},
                    created_at=now,
                    updated_at=now,
                )
            write_state(path, document)
            store = LocalStateStore(path)
            with store.lock("bench") as session:
                recorder = Recorder(session, now=lambda: now, checkpoint_every=1e9)
                started = time.perf_counter()
                for i in range(records):
                    address = f"jobs.new-{i}"
                    seq = recorder.intent(address, "create", {"name": address})
                    record = ResourceRecord(
                        address=address,
                        kind="job",
                        remote_id=str(uuid.uuid4()),
                        remote=remote,
                        created_at=now,
                        updated_at=now,
                    )
                    recorder.done(seq, upsert=record)
                return (time.perf_counter() - started) / records

    one_round(sizes[0])  # warm-up: imports, page cache, the disk's first flushes
    figures: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(rounds):
        for size in sizes:
            figures[size].append(one_round(size))
    for size in sizes:
        per_pair = statistics.median(figures[size])
        print(
            f"journal: {size:>6} resources in state: {per_pair * 1e6:.0f} us per intent + "
            f"result pair (median of {rounds} x {records}; appended and fdatasync'ed; state not "
            "rewritten)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--latency-jobs", type=int, default=500)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    bench_local(args.jobs)
    if not args.skip_latency:
        bench_latency(args.latency_jobs, 16, 100.0)
    bench_journal()


if __name__ == "__main__":
    main()
