"""Benchmark: ``rmapply plan`` as a whole process on a project of 10,000 jobs (run by hand).

    .venv/bin/python bench/bench_plan_cli.py [--jobs 10000] [--runs 3] [--skip-refresh]

It writes a temporary project whose one Jinja template produces ``--jobs`` jobs (the template
of bench/bench_manifests.py) and a state file that matches it exactly, then runs ``rmapply
plan`` as separate processes (spawn to exit; peak memory of the child from ``wait4``):

1. ``plan --no-refresh``, cold (no manifest cache) and warm (cache filled). Targets: at most
   2 s and 400 MB. Every job in state has finished (``success``).
2. ``plan`` with refresh against an emulator (the one ``rmapply serve`` runs, started in this
   process so that its request counters can be read) holding the same jobs, unsubmitted:
   the requests it served (the paged list: ``jobs / 1000`` pages, one GET per workspace, no
   GET per job), and the time next to the emulator's own time to serve those pages.

Not a test: figures go to bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_manifests import make_directory  # noqa: E402
from rmapply.client import RealityModelingClient, StaticToken  # noqa: E402
from rmapply.emulator import Emulator, EmulatorOptions  # noqa: E402
from rmapply.manifests import LoadResult, load_manifests  # noqa: E402
from rmapply.model import digest  # noqa: E402
from rmapply.state import ResourceRecord, StateDocument  # noqa: E402
from rmapply.state.statefile import write_state  # noqa: E402
from rmapply.wire import Job, WorkspaceCreation  # noqa: E402

RMAPPLY = [sys.executable, "-m", "rmapply"]
NOW = datetime(2024, 6, 1, tzinfo=UTC)
TOKEN = "bench-token"
LIST = "/contextcapture/jobs"


def finished_job(job_id: str, spec: dict[str, Any], itwin_id: str, workspace: str) -> Job:
    """The Job the service shows for ``spec`` once it finished."""
    stamp = NOW.isoformat().replace("+00:00", "Z")
    settings = spec["settings"]
    return Job.from_wire(
        {
            "id": job_id,
            "name": spec["name"],
            "type": spec["type"],
            "state": "success",
            "createdDateTime": stamp,
            "lastModifiedDateTime": stamp,
            "location": "East US",
            "iTwinId": itwin_id,
            "workspaceId": workspace,
            "email": "bench@example.com",
            "inputs": spec["inputs"],
            "jobSettings": {
                "quality": settings["quality"],
                "processingEngines": settings.get("processingEngines", 0),
                "outputs": [
                    {"format": fmt, "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, job_id + fmt))}
                    for fmt in settings["outputs"]
                ],
                "cacheSettings": settings.get("cacheSettings"),
            },
            "executionInformation": {
                "submittedDateTime": stamp,
                "startedDateTime": stamp,
                "endedDateTime": stamp,
                "estimatedUnits": 1.0,
            },
            "costEstimationParameters": spec["costEstimationParameters"],
            "estimatedCost": 2.5,
        }
    )


def _record(
    address: str, remote_id: str, spec: dict[str, Any], remote: dict[str, Any], **extra: Any
) -> ResourceRecord:
    kind = "job" if address.startswith("jobs.") else "workspace"
    return ResourceRecord.model_validate(
        {
            "address": address,
            "kind": kind,
            "remote_id": remote_id,
            "spec": spec,
            "digest": digest(spec),
            "remote": remote,
            "created_at": NOW,
            "updated_at": NOW,
            "refreshed_at": NOW,
            **extra,
        }
    )


def write_state_for(
    directory: Path, loaded: LoadResult, jobs: dict[str, Job], workspace: str
) -> None:
    """The state file an apply of the project would leave, given the remote jobs by address."""
    itwin = loaded.desired.itwin_id or ""
    resources: dict[str, ResourceRecord] = {}
    for address, desired_ws in loaded.desired.workspaces.items():
        spec = desired_ws.spec.to_creation(itwin).to_wire()
        remote = {"id": workspace, "createdDateTime": NOW.isoformat(), **spec}
        resources[str(address)] = _record(str(address), workspace, spec, remote)
    for address, job in loaded.desired.jobs.items():
        found = jobs[str(address)]
        resources[str(address)] = _record(
            str(address),
            found.id,
            job.spec.to_wire(),
            found.to_wire(),
            workspace_id=workspace,
            outputs=found.output_ids(),
        )
    write_state(directory / "rmapply.state.json", StateDocument(serial=1, resources=resources))


def finished_state(directory: Path) -> None:
    """State for the no-refresh runs: every job finished, ids made up."""
    loaded = load_manifests(directory, environ={}, use_cache=False)
    workspace = str(uuid.uuid4())
    jobs = {
        str(address): finished_job(
            str(uuid.uuid5(uuid.NAMESPACE_URL, str(address))),
            job.spec.to_wire(),
            loaded.desired.itwin_id or "",
            workspace,
        )
        for address, job in loaded.desired.jobs.items()
    }
    write_state_for(directory, loaded, jobs, workspace)


def run_plan(args: list[str], env: dict[str, str]) -> tuple[float, float, str, float]:
    """Seconds (spawn to exit), peak resident MB of the child, the last line of stdout, and the
    child's CPU seconds (user + system: less disturbed by other work on the machine)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([*RMAPPLY, "plan", *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)  # reaps the child: its own rusage
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"rmapply plan {' '.join(args)} failed:\n{err.read().decode()}")
        lines = out.read().decode().strip().splitlines()
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, lines[-1] if lines else "", cpu


def no_refresh(directory: Path, runs: int, env: dict[str, str]) -> None:
    """Cold and warm ``plan --no-refresh``."""
    print("rmapply plan --no-refresh (whole process):")
    last = ""
    for label, clear in (("cold, no manifest cache", True), ("warm, manifest cache hit", False)):
        times, peaks, cpus = [], [], []
        for _ in range(runs):
            if clear:
                shutil.rmtree(directory / ".rmapply", ignore_errors=True)
            seconds, peak, last, cpu = run_plan(["-C", str(directory), "--no-refresh"], env)
            times.append(seconds)
            peaks.append(peak)
            cpus.append(cpu)
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(
            f"  {label:<26} best {min(times):.2f} s  (runs: {shown}; CPU best {min(cpus):.2f} s)"
            f"  peak {max(peaks):.0f} MB"
        )
    print(f"  -> {last}")


def with_refresh(directory: Path, jobs: int, runs: int, env: dict[str, str]) -> None:
    """``plan`` refreshing every job from an emulator that holds them."""
    (directory / "rmapply.toml").write_text(
        (directory / "rmapply.toml").read_text("utf-8") + "[defaults]\nsubmit = false\n", "utf-8"
    )
    loaded = load_manifests(directory, environ={}, use_cache=False)
    itwin = loaded.desired.itwin_id or ""
    with Emulator(EmulatorOptions(port=0, tokens=(TOKEN,))) as emulator:
        client = RealityModelingClient(emulator.base_url, StaticToken(TOKEN), pool_size=16)
        workspace = client.create_workspace(WorkspaceCreation(name="Bench", i_twin_id=itwin)).id
        started = time.perf_counter()

        def create(item: tuple[str, Any]) -> tuple[str, Job]:
            address, job = item
            return address, client.create_job(job.spec.to_creation(workspace))

        with ThreadPoolExecutor(8) as pool:
            made = dict(pool.map(create, [(str(a), j) for a, j in loaded.desired.jobs.items()]))
        print(
            f"rmapply plan with refresh: {jobs} jobs created in the emulator in "
            f"{time.perf_counter() - started:.1f} s"
        )
        write_state_for(directory, loaded, made, workspace)
        # the emulator's own time to serve the pages, read by this process
        started = time.perf_counter()
        listed = sum(1 for _ in client.list_jobs(f"iTwinId eq {itwin}", top=1000))
        serve_pages = time.perf_counter() - started
        assert listed == jobs, listed
        environment = {**env, "RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": TOKEN}
        run_plan(["-C", str(directory), "--no-refresh"], environment)  # fills the cache
        for _ in range(runs):
            before = (
                emulator.request_count("GET", LIST),
                emulator.request_count("GET", LIST + "/"),
            )
            before_all = emulator.request_count()
            seconds, peak, last, _ = run_plan(["-C", str(directory)], environment)
            per_job = emulator.request_count("GET", LIST + "/") - before[1]
            pages = emulator.request_count("GET", LIST) - before[0] - per_job
            total = emulator.request_count() - before_all
            print(
                f"  whole process {seconds:.2f} s, peak {peak:.0f} MB; requests: {total} in all, "
                f"{pages} list page(s), {per_job} GET(s) of one job"
            )
        plain = min(
            run_plan(["-C", str(directory), "--no-refresh"], environment)[0] for _ in range(2)
        )
        print(
            f"  same project --no-refresh: {plain:.2f} s; the emulator alone serves the "
            f"{-(-jobs // 1000)} pages in {serve_pages:.2f} s"
        )
        print(f"  -> {last}")
        client.close()


def main() -> None:
    """Generate the project, run the measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-refresh", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rmapply-bench-plan-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
    env["NO_COLOR"] = "1"
    try:
        make_directory(root, args.jobs, "toml")
        started = time.perf_counter()
        finished_state(root)
        size = (root / "rmapply.state.json").stat().st_size / 1e6
        print(
            f"project: {args.jobs} jobs from one template, state file {size:.1f} MB "
            f"(generated in {time.perf_counter() - started:.1f} s) in {root}"
        )
        no_refresh(root, args.runs, env)
        if not args.skip_refresh:
            with_refresh(root, args.jobs, args.runs, env)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
