"""Benchmark of the state store (run by hand, not by pytest): ``python bench/bench_state.py``.

Prints: the time to write and to load a 10,000-resource state (load measured in a fresh process,
as the CLI runs it), and the cost of recording one result with 10 vs 10,000 resources in state.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from rmapply.state import LocalStateStore, ResourceRecord

NOW = datetime(2024, 6, 1, tzinfo=UTC)
RESULTS = 300


def realistic_record(n: int) -> ResourceRecord:
    """A job as apply records it: the spec, the full remote Job object, outputs."""
    job_id, workspace_id = str(uuid.uuid4()), str(uuid.uuid4())
    inputs = [{"id": str(uuid.uuid4()), "description": "photos"}, {"id": str(uuid.uuid4())}]
    spec = {
        "type": "Full",
        "name": f"site-{n}",
        "workspaceId": workspace_id,
        "inputs": inputs,
        "settings": {"quality": "Medium", "outputs": ["OBJ", "Cesium 3D Tiles"]},
        "costEstimationParameters": {"gigaPixels": 1.5, "meshQuality": "Medium"},
        "submit": True,
    }
    stamp = NOW.isoformat()
    remote = {
        "id": job_id,
        "name": f"site-{n}",
        "type": "Full",
        "state": "success",
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "location": "EastUs",
        "workspaceId": workspace_id,
        "email": "someone@example.com",
        "inputs": inputs,
        "jobSettings": {
            "quality": "Medium",
            "outputs": [{"format": "OBJ", "id": str(uuid.uuid4())}],
        },
        "executionInformation": {
            "submittedDateTime": stamp,
            "endedDateTime": stamp,
            "estimatedUnits": 0.05,
        },
        "estimatedCost": 1.2,
    }
    return ResourceRecord(
        address=f"jobs.site-{n}",
        kind="job",
        remote_id=job_id,
        spec=spec,
        digest="sha256:" + "a" * 64,
        workspace_id=workspace_id,
        remote=remote,
        outputs={"OBJ": str(uuid.uuid4())},
        created_at=NOW,
        updated_at=NOW,
        refreshed_at=NOW,
    )


def make_state(path: Path, count: int) -> float:
    """Write a state of ``count`` resources; returns the seconds the write took."""
    store = LocalStateStore(path)
    with store.lock("bench") as session:
        document = session.document
        for n in range(count):
            record = realistic_record(n)
            document.resources[record.address] = record
        started = time.perf_counter()
        session.save(document)
        return time.perf_counter() - started


COLD_LOAD = """
import sys, time
started = time.perf_counter()
from rmapply.state import LocalStateStore
imported = time.perf_counter()
document = LocalStateStore(sys.argv[1]).load()
loaded = time.perf_counter()
print(f"{imported - started:.3f} {loaded - imported:.3f} {len(document.resources)}")
"""


def cold_load(path: Path) -> tuple[float, float, float]:
    """Import time, load time and whole-process time of a fresh process loading ``path``."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", COLD_LOAD, str(path)], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1]), time.perf_counter() - started


def result_cost(path: Path) -> tuple[float, float, float, float]:
    """Median and p95 milliseconds of one ``result`` call, and of the command's first checkpoint
    (which keeps a version of the state file) and of a later one, on ``path``."""
    store = LocalStateStore(path)
    timings = []
    with store.lock("bench") as session:
        for n in range(RESULTS):
            seq = session.journal.intent(f"jobs.extra-{n}", "create", now=NOW)
            record = realistic_record(100_000 + n).model_copy(update={"address": f"jobs.extra-{n}"})
            started = time.perf_counter()
            session.journal.result(seq, upsert=record, now=NOW)
            timings.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        session.checkpoint()
        first = (time.perf_counter() - started) * 1000
        seq = session.journal.intent("jobs.extra-0", "observe", now=NOW)
        session.journal.result(seq, upsert=record, now=NOW)
        started = time.perf_counter()
        session.checkpoint()
        later = (time.perf_counter() - started) * 1000
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95)], first, later


def main() -> None:
    """Run the measurements and print them."""
    with tempfile.TemporaryDirectory() as folder:
        big, small = Path(folder) / "big" / "state.json", Path(folder) / "small" / "state.json"
        write = make_state(big, 10_000)
        make_state(small, 10)
        size = big.stat().st_size / 1e6
        print(f"write 10,000 resources ({size:.1f} MB): {write:.3f} s")
        for attempt in range(2):
            imported, loaded, total = cold_load(big)
            print(
                f"cold load #{attempt + 1}: import {imported:.3f} s, load {loaded:.3f} s, "
                f"whole process {total:.3f} s"
            )
        for label, path in (("10", small), ("10,000", big)):
            median, p95, first, later = result_cost(path)
            print(
                f"result() with {label} resources in state: median {median:.3f} ms, "
                f"p95 {p95:.3f} ms (first checkpoint, keeping a version: {first:.1f} ms; "
                f"a later one: {later:.1f} ms)"
            )


if __name__ == "__main__":
    main()
