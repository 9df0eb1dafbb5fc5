"""Benchmark: a fan-out of pipelines carried to their end by ``apply --wait`` (run by hand).

    .venv/bin/python bench/bench_pipeline.py [--pairs 200] [--speed 200] [--latency-ms 20]
        [--parallelism 16] [--giga-pixels 10] [--max-cost C]

``rmapply serve --speed S --latency-ms L`` in its own process; a project of --pairs pairs
calib-N (Calibration) -> recon-N (the photos plus calib-N's orientations), each job of
--giga-pixels (60 + 30 per gigapixel simulated seconds of run, after 5 s in the queue); then
``rmapply apply --auto-approve --wait --parallelism P --poll-scale 1/S`` as a whole process
(with ``--max-cost C`` too when given: a budget keeps apply's two phases, for comparison).

Reported: the wall time beside the ideal, which is the longest chain's simulated duration / S
plus the apply's API calls (the workspace, a create and a submit per job) at parallelism P and
latency L (target: within 1.3 x); and the progress GETs counted by the emulator (its request
tally, printed when it stops) beside the ceiling of one per running job per poll interval (the
back-off's shortest step, 15 s x 1/S).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RMAPPLY = [sys.executable, "-c", "from rmapply.cli import main; main()"]
TOKEN = "bench-token"
QUEUE_SECONDS, BASE_RUN_SECONDS, RUN_SECONDS_PER_UNIT = 5, 60, 30  # the emulator's lifecycle
SHORTEST_POLL_SECONDS = 15  # the back-off's first step, before scaling


def write_project(root: Path, pairs: int, giga_pixels: float) -> Path:
    """A manifests directory with one workspace and ``pairs`` calib -> recon pipelines."""
    root.mkdir(parents=True)
    (root / "rmapply.toml").write_text(
        f'[project]\niTwinId = "{uuid.uuid4()}"\nname = "bench"\n\n'
        '[state]\npath = "rmapply.state.json"\n'
    )
    (root / "workspaces.toml").write_text('[workspaces.main]\nname = "Bench"\n')
    lines = []
    for i in range(pairs):
        photos = uuid.uuid4()
        cost = f"costEstimationParameters = {{ gigaPixels = {giga_pixels} }}\n"
        lines.append(
            f'[jobs.calib-{i}]\ntype = "Calibration"\nname = "Calib {i}"\nworkspace = "main"\n'
            f'inputs = [{{ id = "{photos}" }}]\n{cost}'
            f'[jobs.calib-{i}.settings]\nquality = "Draft"\noutputs = ["CCOrientations"]\n\n'
            f'[jobs.recon-{i}]\ntype = "Reconstruction"\nname = "Recon {i}"\nworkspace = "main"\n'
            f'inputs = [{{ id = "{photos}" }}, '
            f'{{ id = "jobs.calib-{i}.outputs.CCOrientations" }}]\n'
            f'{cost}[jobs.recon-{i}.settings]\nquality = "Draft"\noutputs = ["OBJ"]\n'
        )
    (root / "jobs.toml").write_text("\n".join(lines))
    return root


def job_seconds(giga_pixels: float) -> int:
    """Simulated seconds from submission to the end of one job (queue + run)."""
    return QUEUE_SECONDS + BASE_RUN_SECONDS + math.ceil(RUN_SECONDS_PER_UNIT * giga_pixels)


def run(args: argparse.Namespace) -> None:
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
                "--speed",
                str(args.speed),
                "--latency-ms",
                str(args.latency_ms),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stderr is not None
        try:
            url = server.stdout.readline().strip()
            project = write_project(Path(tmp) / "p", args.pairs, args.giga_pixels)
            env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
            env |= {"RMAPPLY_ENDPOINT": url, "RMAPPLY_TOKEN": TOKEN}
            command = [
                *RMAPPLY,
                "apply",
                "-C",
                str(project),
                "--auto-approve",
                "--wait",
                "--parallelism",
                str(args.parallelism),
                "--poll-scale",
                str(1 / args.speed),
                "--format",
                "json",
            ]
            if args.max_cost is not None:
                # a budget keeps the two phases (every create, the gate, then the submits)
                command += ["--max-cost", str(args.max_cost)]
            load = os.getloadavg()[0]
            wall_start = datetime.now(UTC)
            started = time.perf_counter()
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            apply_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
                cpu_after.ru_stime - cpu_before.ru_stime
            )
            if done.returncode != 0:
                raise SystemExit(f"apply failed:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        tally = server.stderr.read()
    progress = _count(tally, r"GET /contextcapture/jobs/\{id\}/progress (\d+)")
    job_reads = _count(tally, r"GET /contextcapture/jobs/\{id\} (\d+)")
    chain = 2 * job_seconds(args.giga_pixels)
    calls = 1 + 4 * args.pairs  # the workspace; create and submit of each job
    api = calls * args.latency_ms / 1000 / args.parallelism
    ideal = chain / args.speed + api
    interval = SHORTEST_POLL_SECONDS / args.speed
    ceiling = (
        2 * args.pairs * (math.ceil(job_seconds(args.giga_pixels) / args.speed / interval) + 1)
    )
    print(
        f"pipeline: {args.pairs} calib -> recon pairs, apply --wait at parallelism "
        f"{args.parallelism} against rmapply serve --speed {args.speed:g} --latency-ms "
        f"{args.latency_ms:g}: {seconds:.2f} s; ideal {ideal:.2f} s (chain {chain} simulated s"
        f" / {args.speed:g} = {chain / args.speed:.2f} s + {calls} calls x {args.latency_ms:g}"
        f" ms / {args.parallelism} = {api:.2f} s); ratio {seconds / ideal:.2f}"
    )
    print(timeline(done.stdout, wall_start))
    print(
        f"progress GETs: {progress} (ceiling: one per running job per {interval:.3f} s poll"
        f" interval = {ceiling}); job GETs: {job_reads}; apply's CPU time {apply_cpu:.2f} s;"
        f" load average at start {load:.2f}"
    )


def timeline(events_json: str, wall_start: datetime) -> str:
    """Where the time went, from the apply's JSON events: start-up and plan (to the first
    call), the first wave's creates and submits, and the lag from an upstream's end being seen
    to its downstream's submit."""
    events = [json.loads(line) for line in events_json.splitlines() if line.startswith("{")]
    timed = [e for e in events if "at" in e]

    def at(event: dict[str, Any]) -> float:
        return (datetime.fromisoformat(event["at"]) - wall_start).total_seconds()

    first_call = min(at(e) for e in timed if e["event"] == "action_started")
    submits = {
        e["address"]: at(e)
        for e in timed
        if e["event"] == "action_finished" and e["action"] == "submit"
    }
    settled = {e["address"]: at(e) for e in timed if e["event"] == "job_settled"}
    calibs = [t for a, t in submits.items() if a.startswith("jobs.calib-")]
    recons = [t for a, t in submits.items() if a.startswith("jobs.recon-")]
    lags = sorted(
        submits[a] - settled[a.replace("recon-", "calib-")]
        for a in submits
        if a.startswith("jobs.recon-") and a.replace("recon-", "calib-") in settled
    )
    median = lags[len(lags) // 2] if lags else float("nan")
    return (
        f"timeline: first call at {first_call:.2f} s (start-up, plan); calibs submitted from"
        f" {min(calibs):.2f} to {max(calibs):.2f} s, recons from {min(recons):.2f} to"
        f" {max(recons):.2f} s; upstream seen ended -> downstream submitted: median"
        f" {median:.3f} s, max {max(lags, default=float('nan')):.3f} s; last event at"
        f" {max(at(e) for e in timed):.2f} s"
    )


def _count(tally: str, pattern: str) -> int:
    found = re.search(pattern, tally)
    return int(found.group(1)) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--speed", type=float, default=200.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--giga-pixels", type=float, default=10.0)
    parser.add_argument("--max-cost", type=float, default=None)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
