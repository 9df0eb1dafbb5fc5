"""Benchmark: start-up and no-op plans of ``rmapply`` as whole processes (run by hand).

    .venv/bin/python bench/bench_cli_speed.py [--jobs 1000] [--runs 5] [--memory]

It writes a temporary project of ``--jobs`` jobs (the one-template project of
bench/bench_manifests.py, ``submit = false``), applies it once with ``--local`` (the embedded
emulator then holds every job and the ``--local`` state matches it), writes a state file that
matches it for ``--no-refresh``, warms the manifest cache, then times, as separate processes
(spawn to exit, ``time.perf_counter``), each command ``--runs`` times, interleaved with
``rmapply --version`` (the floor: interpreter start and the CLI's own import):

- ``rmapply --version`` and ``rmapply --help`` (target: at most 0.1 s);
- no-op ``plan --no-refresh`` with a warm manifest cache (target: at most 0.25 s);
- no-op ``plan --local`` (target: at most 0.35 s).

The children run without ``PYTHONDONTWRITEBYTECODE``: like an installed rmapply they use the
compiled ``.pyc`` files (written by the first, untimed, runs).

It prints the median and the best of each, the median of the paired ratios to the floor
(each run divided by the ``--version`` run just before it: less disturbed by other work on
the machine than the raw figures), the median CPU time of the child (user + system), and the
load average before and after. With ``--memory``
it also prints the peak resident memory of one run of each (``/usr/bin/time -v``).

Not a test: figures go to bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_manifests import make_directory  # noqa: E402

RMAPPLY = [sys.executable, "-m", "rmapply"]
TARGETS = {"--version": 0.1, "--help": 0.1, "plan --no-refresh": 0.25, "plan --local": 0.35}


def run(args: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to exit of ``rmapply ARGS``; exits on a failure."""
    return run_with_cpu(args, env)[0]


def run_with_cpu(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from spawn to exit of ``rmapply ARGS``, and the child's CPU seconds (user
    + system: less disturbed by other work on the machine); exits on a failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*RMAPPLY, *args], env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"rmapply {' '.join(args)} failed:\n{done.stderr.decode()}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return seconds, cpu


def peak_mb(args: list[str], env: dict[str, str]) -> float | None:
    """Peak resident MB of one run, from ``/usr/bin/time -v`` (None where it is missing)."""
    if not Path("/usr/bin/time").exists():
        return None
    done = subprocess.run(
        ["/usr/bin/time", "-v", *RMAPPLY, *args], env=env, capture_output=True, check=False
    )
    found = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return int(found.group(1)) / 1024 if found else None


def load() -> str:
    """The 1-, 5- and 15-minute load averages (above about 1 on 2 cores, figures are noisy)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def prepare(root: Path, jobs: int, env: dict[str, str]) -> None:
    """The project, its ``--local`` jobs and state, a matching plain state, a warm cache."""
    make_directory(root, jobs, "toml")
    config = root / "rmapply.toml"
    config.write_text(config.read_text("utf-8") + "[defaults]\nsubmit = false\n", "utf-8")
    started = time.perf_counter()
    run(["apply", "-C", str(root), "--local", "--auto-approve"], env)
    print(f"applied {jobs} jobs with --local in {time.perf_counter() - started:.1f} s")
    # the --local state as the plain state, not yet bound to an endpoint (as a state written
    # before endpoints were recorded): plan --no-refresh then compares the same records
    document = json.loads((root / ".rmapply" / "local" / "state.json").read_text("utf-8"))
    document.pop("endpoint", None)
    (root / "rmapply.state.json").write_text(json.dumps(document), "utf-8")
    run(["plan", "-C", str(root), "--no-refresh"], env)  # warms the manifest cache


Runs = tuple[list[float], list[float], list[float]]


def measure(root: Path, runs: int, env: dict[str, str]) -> dict[str, Runs]:
    """For each command: its wall times, its ratios to the ``--version`` run just before, and
    its CPU times."""
    commands = {
        "--version": ["--version"],
        "--help": ["--help"],
        "plan --no-refresh": ["plan", "-C", str(root), "--no-refresh", "--detailed-exitcode"],
        "plan --local": ["plan", "-C", str(root), "--local", "--detailed-exitcode"],
    }
    found: dict[str, Runs] = {name: ([], [], []) for name in commands}
    for _ in range(runs):
        for name, args in commands.items():
            floor = run(["--version"], env)
            seconds, cpu = run_with_cpu(args, env)
            found[name][0].append(seconds)
            found[name][1].append(seconds / floor)
            found[name][2].append(cpu)
    return found


def main() -> None:
    """Generate the project, run the measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory", action="store_true", help="also peak memory, one run each")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rmapply-bench-speed-"))
    # PYTHONDONTWRITEBYTECODE (set on the development machine) would make every child compile
    # rmapply's sources again; an installed rmapply has its .pyc files, so the children do too.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RMAPPLY_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["NO_COLOR"] = "1"
    try:
        prepare(root, args.jobs, env)
        before = load()
        found = measure(root, args.runs, env)
        print(
            f"{args.jobs} jobs, median of {args.runs}; load average before {before}, after {load()}"
        )
        print(
            f"{'command':<20} {'median':>8} {'best':>8} {'/ --version':>12} {'CPU':>8}"
            f" {'target':>8}"
        )
        for name, (times, ratios, cpus) in found.items():
            print(
                f"{name:<20} {statistics.median(times):>7.3f}s {min(times):>7.3f}s"
                f" {statistics.median(ratios):>11.2f}x {statistics.median(cpus):>7.3f}s"
                f" {TARGETS[name]:>7.2f}s"
            )
        if args.memory:
            for name, extra in (
                ("--version", ["--version"]),
                ("plan --no-refresh", ["plan", "-C", str(root), "--no-refresh"]),
                ("plan --local", ["plan", "-C", str(root), "--local"]),
            ):
                peak = peak_mb(extra, env)
                print(f"peak memory {name}: {'unknown' if peak is None else f'{peak:.0f} MB'}")
    finally:
        if args.keep:
            print(f"project kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
