"""SIGKILL at random moments of a writer never loses a record it acknowledged."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from rmapply.state import LocalStateStore
from tests.state.workers import record_for

SEED = 20240601


def acknowledged(output: str, word: str) -> list[int]:
    """The numbers after ``word`` on complete lines (a line cut by the kill is not counted)."""
    complete = output.split("\n")[:-1]
    return [int(line.split()[1]) for line in complete if line.startswith(word + " ")]


@pytest.mark.crash
def test_sigkill_at_any_moment_never_loses_an_acknowledged_record(tmp_path, workers):
    trials = int(os.environ.get("RMAPPLY_CRASH_TRIALS", "3"))
    rng = random.Random(SEED)
    store = LocalStateStore(tmp_path / "state.json")
    last_ack: dict[str, int] = {}
    in_flight: set[int] = set()  # per trial: the one record that may have been cut short
    for _ in range(trials):
        child = workers.start("write-journal", str(store.path), str(rng.randrange(10**6)))
        assert child.stdout is not None
        first = child.stdout.readline()  # recording has started (the lock and replay are done)
        assert first.startswith("INTENT "), f"the writer did not start: {first!r}"
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
        output = first + rest
        acks = acknowledged(output, "ACK")
        for n in acks:
            last_ack[f"jobs.j{n % 40}"] = n
        in_flight.add(max(acknowledged(output, "INTENT") + acks) + 1)
        in_flight.add(max(acks, default=0) + 1)

        document = store.load()
        for address, n in last_ack.items():
            record = document.resources[address]
            kept = int(record.remote_id.removeprefix("remote-"))
            assert kept >= n, f"{address}: acknowledged result {n} lost (state has {kept})"
            assert record == record_for(kept)
        for address, operation in document.pending.items():
            assert operation.details["n"] in in_flight, f"{address}: unexpected pending {operation}"
            assert operation.details["n"] not in acks
    with store.lock("check") as session:  # the next writer replays and checkpoints cleanly
        assert set(last_ack) <= set(session.document.resources)
    assert not store.journal_path.exists()
