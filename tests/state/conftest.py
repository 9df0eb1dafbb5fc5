"""Fixtures for the state room: a fresh state path per test and plain record builders."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rmapply.state import LocalStateStore, ResourceRecord

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def make_record(
    address: str = "jobs.site-a", remote_id: str = "job-1", **fields: object
) -> ResourceRecord:
    """A plain ResourceRecord; ``kind`` follows the address."""
    kind = "job" if address.startswith("jobs.") else "workspace"
    values: dict[str, object] = {
        "address": address,
        "kind": kind,
        "remote_id": remote_id,
        "spec": {"name": address.partition(".")[2], "type": "Full"},
        "digest": "sha256:" + "0" * 64,
        "remote": {"id": remote_id, "state": "unsubmitted"} if kind == "job" else {"id": remote_id},
        "outputs": {},
        "created_at": NOW,
        "updated_at": NOW + timedelta(seconds=1),
    }
    values.update(fields)
    return ResourceRecord.model_validate(values)


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    """Where this test's state file lives (the folder is otherwise empty)."""
    return tmp_path / "state.json"


@pytest.fixture
def store(state_path: Path) -> LocalStateStore:
    """A local store on ``state_path``."""
    return LocalStateStore(state_path)


REPO = Path(__file__).resolve().parents[2]


class Workers:
    """Child processes running ``tests.state.workers``; any still alive are killed at teardown."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a worker with ``args``; its stdout is a text pipe."""
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.state.workers", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def hold_lock(self, path: Path, *extra: str) -> subprocess.Popen[str]:
        """A child that holds the lock on ``path``; returns once it holds it."""
        process = self.start("hold-lock", str(path), *extra)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "LOCKED"
        return process

    def stop_all(self) -> None:
        """Kill the children this fixture started and reap them."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture
def workers() -> Iterator[Workers]:
    """Start child processes; they are killed and reaped after the test."""
    pool = Workers()
    try:
        yield pool
    finally:
        pool.stop_all()
