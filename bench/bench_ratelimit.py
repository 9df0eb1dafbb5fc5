"""Benchmark: one apply against a rate-limited service (run by hand; CI runs a small version).

    .venv/bin/python bench/bench_ratelimit.py [--jobs 300] [--rate 120] [--burst N]
        [--latency-ms 20] [--parallelism 8] [--retry-budget 900] [--json] [--events FILE]

The emulator (the server ``rmapply serve`` runs, started in this process so its counters can be
read) limits the token to a bucket of ``--burst`` requests (default ``--rate``, a minute's worth)
refilled ``--rate`` per minute, with ``--latency-ms`` before each answer. One ``rmapply apply
--auto-approve --json`` creates and submits ``--jobs`` jobs (plus one workspace) in a child
process. No apply can finish before (admitted calls - burst) / refill seconds: with the defaults
(601 - 120) / 2 = 240 s. Targets: exit 0, no failed action, wall time at most 1.15 x that ideal,
429 answers at most 5% of all requests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_apply import RMAPPLY, TOKEN, write_project  # noqa: E402

from rmapply.emulator import Emulator, EmulatorOptions  # noqa: E402

MAX_SLOWDOWN = 1.15
MAX_429_SHARE = 0.05


@dataclass(frozen=True)
class Figures:
    """What one run measured."""

    jobs: int
    rate_per_minute: int
    burst: int
    latency_ms: float
    parallelism: int
    exit_code: int
    failed_actions: int
    done_actions: int
    requests: int
    answered_429: int
    pauses: int
    wall_seconds: float
    ideal_seconds: float

    @property
    def share_429(self) -> float:
        """429 answers as a fraction of every request the service received."""
        return self.answered_429 / self.requests if self.requests else 0.0

    @property
    def slowdown(self) -> float:
        """Wall time over the ideal."""
        return self.wall_seconds / self.ideal_seconds if self.ideal_seconds > 0 else 0.0


def run(
    jobs: int,
    rate: int,
    burst: int | None = None,
    *,
    latency_ms: float = 20.0,
    parallelism: int = 8,
    retry_budget: float = 900.0,
    events_file: Path | None = None,
) -> Figures:
    """One apply of ``jobs`` jobs against an emulator limited to ``rate`` requests a minute."""
    bucket = burst or rate
    options = EmulatorOptions(
        tokens=(TOKEN,), latency_ms=latency_ms, rate_limit=rate, rate_limit_burst=bucket
    )
    with tempfile.TemporaryDirectory() as tmp, Emulator(options) as emulator:
        project = write_project(Path(tmp) / "p", jobs)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
        env |= {"RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": TOKEN}
        command = [
            *RMAPPLY,
            "apply",
            "-C",
            str(project),
            "--auto-approve",
            "--json",
            "--parallelism",
            str(parallelism),
            "--retry-budget",
            str(retry_budget),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
        if events_file is not None:
            events_file.write_text(done.stdout)
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        summary = next((e for e in events if e.get("event") == "summary"), {})
        counts = summary.get("counts", {})
        requests = emulator.request_count()
        limited = emulator.rate_limited_count()
    admitted = requests - limited
    return Figures(
        jobs=jobs,
        rate_per_minute=rate,
        burst=bucket,
        latency_ms=latency_ms,
        parallelism=parallelism,
        exit_code=done.returncode,
        failed_actions=int(counts.get("failed", -1)),
        done_actions=int(counts.get("done", -1)),
        requests=requests,
        answered_429=limited,
        pauses=sum(1 for e in events if e.get("event") == "rate_limit_wait"),
        wall_seconds=round(wall, 2),
        ideal_seconds=round(max(0, admitted - bucket) / (rate / 60), 2),
    )


def verdicts(figures: Figures) -> dict[str, bool]:
    """Each target of the benchmark, met or not."""
    return {
        "exit 0": figures.exit_code == 0,
        "0 failed actions": figures.failed_actions == 0,
        f"wall time <= {MAX_SLOWDOWN} x ideal": figures.slowdown <= MAX_SLOWDOWN,
        f"429 share <= {MAX_429_SHARE:.0%}": figures.share_429 <= MAX_429_SHARE,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rate", type=int, default=120, help="requests per minute (refill)")
    parser.add_argument("--burst", type=int, default=None, help="bucket size (default: --rate)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--retry-budget", type=float, default=900.0)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    parser.add_argument("--events", type=Path, default=None, help="keep apply's --json output")
    args = parser.parse_args()
    figures = run(
        args.jobs,
        args.rate,
        args.burst,
        latency_ms=args.latency_ms,
        parallelism=args.parallelism,
        retry_budget=args.retry_budget,
        events_file=args.events,
    )
    if args.json:
        print(json.dumps({**asdict(figures), "share429": round(figures.share_429, 4)}))
        return
    print(
        f"{figures.jobs} jobs, bucket {figures.burst} refilled {figures.rate_per_minute}/min, "
        f"latency {figures.latency_ms:g} ms, parallelism {figures.parallelism}: exit "
        f"{figures.exit_code}, {figures.done_actions} done, {figures.failed_actions} failed"
    )
    print(
        f"  wall {figures.wall_seconds:.1f} s; ideal {figures.ideal_seconds:.1f} s "
        f"(({figures.requests - figures.answered_429} admitted - {figures.burst}) / "
        f"{figures.rate_per_minute / 60:g} per s); ratio {figures.slowdown:.3f}"
    )
    print(
        f"  requests {figures.requests}, 429 answers {figures.answered_429} "
        f"({figures.share_429:.1%}), pauses shown {figures.pauses}"
    )
    for target, met in verdicts(figures).items():
        print(f"  {'met' if met else 'MISSED'}: {target}")


if __name__ == "__main__":
    main()
