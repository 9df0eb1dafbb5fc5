"""Benchmark: whole ``rmapply`` processes with the local-file and the PostgreSQL state backend.

    .venv/bin/python -m bench.bench_backends_cli [--plan-jobs 10000] [--apply-jobs 1000] \
        [--runs 3] [--skip-plan | --skip-apply]

1. A no-op ``plan --no-refresh`` of ``--plan-jobs`` jobs (every job in state, finished; the
   manifest cache warm), once with the state in ``rmapply.state.json`` and once with the same
   document under a PostgreSQL key.
2. ``apply --auto-approve`` of ``--apply-jobs`` new jobs (create + submit each) against an
   ``rmapply serve`` process (fresh data and a fresh state or key for every run).

Runs alternate between the backends; each figure is the median of ``--runs`` (spawn to exit).
Targets: PostgreSQL within 1.3x of the local file for both. Needs the server of
RMAPPLY_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test); its schema
``rmapply_bench_<pid>`` is dropped at the end. Not a test: figures go to bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.bench_manifests import load, make_directory
from bench.bench_plan_cli import finished_state
from rmapply.state import LocalStateStore
from rmapply.state.postgres import PostgresStateStore

URL = os.environ.get("RMAPPLY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = f"rmapply_bench_{os.getpid()}"  # its own: benches may run side by side
TOKEN = "bench-token"
RMAPPLY = [sys.executable, "-m", "rmapply"]


def postgres_config(key: str) -> str:
    """The ``[state]`` table of a project on the bench key ``key``."""
    return f'\n[state]\nbackend = "postgres"\nkey = "{key}"\nschema = "{SCHEMA}"\n'


def new_key(document_from: Path | None = None) -> str:
    """A fresh key, initialised, holding the local state ``document_from`` if given."""
    key = f"bench-{uuid.uuid4().hex[:10]}"
    store = PostgresStateStore(URL, key, schema=SCHEMA)
    store.init()
    if document_from is not None:
        document = LocalStateStore(document_from).load()
        with store.lock("bench") as session:
            document.lineage = session.document.lineage
            session.save(document)
    return key


def timed(args: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to exit of ``rmapply ARGS`` (which must succeed)."""
    started = time.perf_counter()
    done = subprocess.run([*RMAPPLY, *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"rmapply {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def ratio_line(label: str, local: list[float], postgres: list[float]) -> None:
    """One figure: medians and their ratio."""
    lm, pm = statistics.median(local), statistics.median(postgres)
    shown = "; ".join(
        f"{name} " + ", ".join(f"{t:.2f}" for t in times)
        for name, times in (("file", local), ("pg", postgres))
    )
    print(f"{label}: file median {lm:.2f} s, postgres median {pm:.2f} s, ratio {pm / lm:.2f}x")
    print(f"  runs: {shown}")


def plan_no_refresh(root: Path, jobs: int, runs: int, env: dict[str, str]) -> None:
    """The no-op ``plan --no-refresh`` of ``jobs`` jobs on both backends."""
    local = root / "plan-file"
    make_directory(local, jobs, "toml")
    finished_state(local)
    remote = root / "plan-pg"
    shutil.copytree(local, remote, ignore=shutil.ignore_patterns("rmapply.state.json*"))
    key = new_key(local / "rmapply.state.json")
    with (remote / "rmapply.toml").open("a") as config:
        config.write(postgres_config(key))
    times: dict[Path, list[float]] = {local: [], remote: []}
    for directory in times:  # fill the manifest caches
        timed(["plan", "-C", str(directory), "--no-refresh", "--detailed-exitcode"], env)
    for _ in range(runs):
        for directory, taken in times.items():
            args = ["plan", "-C", str(directory), "--no-refresh", "--detailed-exitcode"]
            taken.append(timed(args, env))
    ratio_line(f"plan --no-refresh, {jobs} jobs, no changes", times[local], times[remote])


def serve(data: Path) -> tuple[subprocess.Popen[str], str]:
    """``rmapply serve`` in its own process; the process and its base URL."""
    process = subprocess.Popen(
        [*RMAPPLY, "serve", "--port", "0", "--data", str(data), "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def apply_once(root: Path, jobs: int, env: dict[str, str], backend: str, n: int) -> float:
    """One ``apply`` of ``jobs`` new jobs against a fresh ``rmapply serve``."""
    directory = root / f"apply-{backend}-{n}"
    make_directory(directory, jobs, "toml")
    if backend == "postgres":
        with (directory / "rmapply.toml").open("a") as config:
            config.write(postgres_config(new_key()))
    process, base_url = serve(root / f"serve-{backend}-{n}.sqlite3")
    try:
        environment = env | {"RMAPPLY_ENDPOINT": base_url, "RMAPPLY_TOKEN": TOKEN}
        return timed(["apply", "-C", str(directory), "--auto-approve"], environment)
    finally:
        stop(process)


def apply_jobs(root: Path, jobs: int, runs: int, env: dict[str, str]) -> None:
    """``apply`` of ``jobs`` jobs on both backends."""
    times: dict[str, list[float]] = {"file": [], "postgres": []}
    for n in range(runs):
        for backend, taken in times.items():
            taken.append(apply_once(root, jobs, env, backend, n))
    ratio_line(f"apply of {jobs} jobs against rmapply serve", times["file"], times["postgres"])


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plan-jobs", type=int, default=10_000)
    parser.add_argument("--apply-jobs", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-plan", action="store_true", help="time only the apply")
    parser.add_argument("--skip-apply", action="store_true", help="time only the plan")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
    env |= {"NO_COLOR": "1", "RMAPPLY_STATE_URL": URL}
    root = Path(tempfile.mkdtemp(prefix="rmapply-bench-backends-"))
    print(f"load average {load()}")
    try:
        if not args.skip_plan:
            plan_no_refresh(root, args.plan_jobs, args.runs, env)
        if not args.skip_apply:
            apply_jobs(root, args.apply_jobs, args.runs, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        import psycopg

        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    print(f"load average {load()}")


if __name__ == "__main__":
    main()
