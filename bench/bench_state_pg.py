"""Benchmark of the PostgreSQL state backend (run by hand): ``python bench/bench_state_pg.py``.

Needs the server of RMAPPLY_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).
Prints, with 10,000 resources in state: the time to load it (in a fresh process, as the CLI
does: connect, create-if-missing check of the schema, one snapshot, decode), and the cost of one
journal intent + result (each committed before apply goes on) with 10 vs 10,000 resources.
Targets: load <= 0.5 s; intent + result <= 2 ms, the same with 10 or 10,000 resources.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid

from bench.bench_state import realistic_record
from rmapply.state import StateDocument
from rmapply.state.postgres import PostgresStateStore

URL = os.environ.get("RMAPPLY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = f"rmapply_bench_{os.getpid()}"  # its own: benches may run side by side
PAIRS = 300

LOAD = """
import sys, time
from rmapply.state.postgres import PostgresStateStore
start = time.perf_counter()
document = PostgresStateStore(sys.argv[1], sys.argv[2], schema=sys.argv[3]).load()
print(time.perf_counter() - start, len(document.resources))
"""


def filled(resources: int) -> PostgresStateStore:
    """A new key holding ``resources`` realistic jobs."""
    store = PostgresStateStore(URL, f"bench-{uuid.uuid4().hex[:8]}", schema=SCHEMA)
    store.init()
    document = StateDocument()
    for n in range(resources):
        record = realistic_record(n)
        document.resources[record.address] = record
    with store.lock("bench") as session:
        document.lineage = session.document.lineage
        session.save(document)
    return store


def load_seconds(store: PostgresStateStore, runs: int = 5) -> list[float]:
    """Load times, each in a fresh interpreter (imports not counted)."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", LOAD, URL, store.key, SCHEMA],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        times.append(float(out[0]))
    return times


def pair_milliseconds(store: PostgresStateStore) -> list[float]:
    """Milliseconds of each intent + result pair (both committed)."""
    times = []
    with store.lock("bench") as session:
        for n in range(PAIRS):
            record = realistic_record(100_000 + n)
            start = time.perf_counter()
            seq = session.journal.intent(record.address, "create")
            session.journal.result(seq, upsert=record)
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    """Print the figures."""
    big = filled(10_000)
    loads = load_seconds(big)
    median, best = statistics.median(loads), min(loads)
    print(f"load, 10,000 resources: median {median:.3f} s, best {best:.3f} s")
    for size in (10, 10_000):
        store = big if size == 10_000 else filled(size)
        times = pair_milliseconds(store)
        print(
            f"intent + result, {size:>6} resources: median {statistics.median(times):.2f} ms, "
            f"p90 {statistics.quantiles(times, n=10)[-1]:.2f} ms"
        )
    import psycopg

    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


if __name__ == "__main__":
    main()
