"""Benchmark: create-job requests per second against ``rmapply serve`` (run by hand, not a test).

    .venv/bin/python bench/bench_emulator.py [--connections 8] [--seconds 10] [--processes]

Starts ``rmapply serve --port 0 --data <tmp file>`` as a subprocess, creates one workspace, then
drives ``POST /jobs`` from N keep-alive ``http.client`` connections (threads, or processes with
``--processes``) for a fixed time and prints requests/s and latency percentiles.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TOKEN = "bench-token"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Content-Type": "application/json",
    "Accept": "application/vnd.bentley.itwin-platform.v1+json",
}


def job_body(workspace_id: str, name: str) -> bytes:
    """The create-job example of the reference page, in the benchmark's workspace."""
    return json.dumps(
        {
            "type": "Full",
            "name": name,
            "costEstimationParameters": {
                "gigaPixels": 2.5,
                "megaPoints": 1.5,
                "meshQuality": "Extra",
            },
            "inputs": [
                {
                    "id": "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4",
                    "description": "Drone ImageCollection",
                },
                {
                    "id": "dc65ce7d-2598-422f-97a5-5ae8eb004b67",
                    "description": "Drone CCOrientations",
                },
            ],
            "workspaceId": workspace_id,
            "settings": {"quality": "Extra", "processingEngines": 5, "outputs": ["OBJ", "3MX"]},
        }
    ).encode()


def drive(base_url: str, workspace_id: str, seconds: float, worker: int) -> dict[str, Any]:
    """One keep-alive connection sending POST /jobs until the time is up."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    path = parts.path + "/jobs"
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        body = job_body(workspace_id, f"bench-{worker}-{n}")
        start = time.perf_counter()
        conn.request("POST", path, body=body, headers=HEADERS)
        answer = conn.getresponse()
        answer.read()
        latencies.append(time.perf_counter() - start)
        if answer.status != 201:
            errors += 1
        n += 1
    conn.close()
    return {"latencies": latencies, "errors": errors}


def _drive_into(queue: Any, *args: Any) -> None:
    queue.put(drive(*args))


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--processes", action="store_true", help="one client process per connection"
    )
    parser.add_argument("--memory", action="store_true", help="in-memory SQLite instead of a file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bench.sqlite"
        command = [sys.executable, "-c", "from rmapply.cli import main; main()", "serve",
                   "--port", "0", "--token", TOKEN]  # fmt: skip
        if not args.memory:
            command += ["--data", str(data)]
        server = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert server.stdout is not None
            base_url = server.stdout.readline().strip()
            parts = urlsplit(base_url)
            setup = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            setup.request(
                "POST",
                parts.path + "/workspaces",
                body=json.dumps({"name": "bench", "iTwinId": str(uuid.uuid4())}),
                headers=HEADERS,
            )
            workspace_id = json.loads(setup.getresponse().read())["workspace"]["id"]
            setup.close()
            # Warm up (imports, first SQLite pages) outside the measurement.
            drive(base_url, workspace_id, 0.5, -1)

            results: list[dict[str, Any]] = []
            started = time.perf_counter()
            if args.processes:
                queue: Any = multiprocessing.Queue()
                procs = [
                    multiprocessing.Process(
                        target=_drive_into, args=(queue, base_url, workspace_id, args.seconds, i)
                    )
                    for i in range(args.connections)
                ]
                for p in procs:
                    p.start()
                results = [queue.get() for _ in procs]
                for p in procs:
                    p.join()
            else:
                lock = threading.Lock()

                def run(i: int) -> None:
                    outcome = drive(base_url, workspace_id, args.seconds, i)
                    with lock:
                        results.append(outcome)

                threads = [threading.Thread(target=run, args=(i,)) for i in range(args.connections)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            elapsed = time.perf_counter() - started
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    latencies = sorted(x for r in results for x in r["latencies"])
    errors = sum(r["errors"] for r in results)
    count = len(latencies)
    q = statistics.quantiles(latencies, n=100)
    mode = "processes" if args.processes else "threads"
    store = "in-memory SQLite" if args.memory else "SQLite file (WAL, synchronous=NORMAL)"
    print(f"POST /jobs, {args.connections} keep-alive connections ({mode}), {store}")
    print(f"requests: {count} in {elapsed:.1f} s, errors: {errors}")
    print(f"throughput: {count / elapsed:.0f} req/s")
    print(
        f"latency ms: p50 {q[49] * 1000:.2f}  p90 {q[89] * 1000:.2f}  "
        f"p99 {q[98] * 1000:.2f}  max {latencies[-1] * 1000:.2f}"
    )


if __name__ == "__main__":
    main()
