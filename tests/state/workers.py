"""Child processes for the lock and crash tests: ``python -m tests.state.workers KIND PATH``.

``hold-lock PATH``: take the lock, print ``LOCKED <pid>``, then sleep until killed (or for
``RELEASE_AFTER`` seconds if given as a third argument), running ``COMMAND`` if given fourth.
``record-and-die PATH``: run :func:`record_then_die` on a local store, then die (os._exit).
``write-journal PATH SEED``: record intent/result pairs for ever, printing ``INTENT n`` after each
acknowledged intent and ``ACK n`` after each acknowledged result; checkpoints every few results.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from rmapply.state import LocalStateStore, ResourceRecord, StateSession

if TYPE_CHECKING:
    from rmapply.state.postgres import PostgresStateStore

BASE = datetime(2024, 6, 1, tzinfo=UTC)


def hold_lock(path: str, release_after: float | None, command: str = "apply --test") -> None:
    """Take the lock and keep it."""
    with LocalStateStore(path).lock(command=command):
        print("LOCKED", flush=True)
        time.sleep(release_after if release_after is not None else 600)


def record_for(n: int) -> ResourceRecord:
    """The record written by result ``n`` (the crash test checks exactly this)."""
    moment = BASE + timedelta(seconds=n)
    return ResourceRecord(
        address=f"jobs.j{n % 40}",
        kind="job",
        remote_id=f"remote-{n}",
        spec={"name": f"j{n % 40}", "n": n},
        digest=f"sha256:{n:064d}",
        created_at=moment,
        updated_at=moment,
    )


def write_journal(path: str, seed: int) -> None:
    """Record forever; the parent kills this process with SIGKILL at a random moment."""
    rng = random.Random(seed)
    every = rng.randint(3, 12)
    with LocalStateStore(path).lock(command="apply --crash-trial") as session:
        # number on from everything already recorded, pending operations included
        document = session.document
        seen = [int(r.remote_id.removeprefix("remote-")) for r in document.resources.values()]
        seen += [int(p.details["n"]) for p in document.pending.values()]
        n = max(seen, default=0)
        while True:
            n += 1
            seq = session.journal.intent(f"jobs.j{n % 40}", "create", details={"n": n})
            print("INTENT", n, flush=True)
            session.journal.result(seq, upsert=record_for(n))
            print("ACK", n, flush=True)
            if n % every == 0:
                session.checkpoint()


CRASHED_RESULT = "jobs.acknowledged"  # intent and result recorded before the crash
CRASHED_INTENT = "jobs.in-flight"  # intent recorded, the call's answer never came


def record_then_die(session: StateSession) -> None:
    """Record one intent with its result and one intent alone (the writer dies after this)."""
    seq = session.journal.intent(CRASHED_RESULT, "create", details={"n": 1}, now=BASE)
    session.journal.result(seq, upsert=record_for(1).model_copy(update={"address": CRASHED_RESULT}))
    session.journal.intent(CRASHED_INTENT, "create", details={"n": 2}, now=BASE)


def record_and_die(path: str) -> None:
    """Take the lock, record, and die without ending the session (as on kill -9)."""
    with LocalStateStore(path).lock(command="apply --crash-trial") as session:
        record_then_die(session)
        sys.stdout.flush()
        os._exit(0)


def pg_store(url: str, schema: str, key: str) -> PostgresStateStore:
    """The PostgreSQL store of a test (imported here only: the driver is optional)."""
    from rmapply.state.postgres import PostgresStateStore

    return PostgresStateStore(url, key, schema=schema)


def pg_hold_lock(url: str, schema: str, key: str, command: str) -> None:
    """Take the PostgreSQL lock, print ``LOCKED <backend pid>``, keep it until killed."""
    with pg_store(url, schema, key).lock(command) as session:
        print("LOCKED", session.conn.info.backend_pid, flush=True)
        time.sleep(600)


def pg_record_and_die(url: str, schema: str, key: str) -> None:
    """Record in a PostgreSQL session, print ``DYING <backend pid>``, die holding the lock."""
    with pg_store(url, schema, key).lock("apply --crash-trial") as session:
        record_then_die(session)
        print("DYING", session.conn.info.backend_pid, flush=True)
        os._exit(0)


def main(argv: list[str]) -> None:
    """Dispatch on the first argument."""
    kind, path = argv[0], argv[1]
    if kind == "hold-lock":
        hold_lock(path, float(argv[2]) if len(argv) > 2 else None, *argv[3:4])
    elif kind == "record-and-die":
        record_and_die(path)
    elif kind == "pg-hold-lock":
        pg_hold_lock(*argv[1:5])
    elif kind == "pg-record-and-die":
        pg_record_and_die(*argv[1:4])
    elif kind == "write-journal":
        write_journal(path, int(argv[2]))
    else:
        raise SystemExit(f"unknown worker {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
