"""429: every method waits for Retry-After and is sent again; all threads of a client wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rmapply import wire
from rmapply.client import ClientEvent, RateLimitWait, RealityModelingClient
from rmapply.emulator import Emulator
from tests.client.conftest import MakeClient

JOBS = "/contextcapture/jobs"


def pause_of(event: RateLimitWait) -> tuple[float, str, str]:
    """What a pause event says, but the pace (a measure of this machine's speed)."""
    assert event.rate is not None and event.rate > 0
    return (event.seconds, event.method, event.path)


def test_rate_limited_post_waits_for_retry_after_then_succeeds(
    client: RealityModelingClient,
    emulator: Emulator,
    job_body: wire.JobCreation,
    events: list[ClientEvent],
) -> None:
    emulator.throttle_next(1, retry_after=1, method="POST", path_prefix=JOBS)
    job = client.create_job(job_body)
    assert [j.id for j in emulator.jobs()] == [job.id]
    assert emulator.request_count("POST", JOBS) == 2
    assert [pause_of(e) for e in events if isinstance(e, RateLimitWait)] == [(1.0, "POST", "/jobs")]


class Gate:
    """A sleep that records who waits and how long, and holds everyone until opened."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.lock = threading.Lock()
        self.waits: list[tuple[str, float]] = []

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self.lock:
            self.waits.append((threading.current_thread().name, seconds))
        self.opened.wait(timeout=30)
        time.sleep(seconds)

    def sleepers(self) -> set[str]:
        with self.lock:
            return {name for name, _ in self.waits}


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_one_429_makes_every_thread_of_the_client_wait(
    emulator: Emulator,
    make_client: MakeClient,
    job_body: wire.JobCreation,
    events: list[ClientEvent],
) -> None:
    gate = Gate()
    client = make_client(emulator, sleep=gate.sleep)
    job = client.create_job(job_body)
    gets = emulator.request_count("GET", JOBS)
    emulator.throttle_next(1, retry_after=1, method="GET", path_prefix=JOBS)
    results: dict[str, wire.Job] = {}

    def read(name: str) -> None:
        results[name] = client.get_job(job.id)

    first = threading.Thread(target=read, args=("first",), name="first")
    first.start()
    _wait_until(lambda: "first" in gate.sleepers())  # it got the 429 and waits
    others = [threading.Thread(target=read, args=(n,), name=n) for n in ("second", "third")]
    for thread in others:
        thread.start()
    _wait_until(lambda: gate.sleepers() == {"first", "second", "third"})
    # While the pause lasts, nobody sent anything beyond the one request that got the 429.
    assert emulator.request_count("GET", JOBS) - gets == 1
    gate.opened.set()
    for thread in [first, *others]:
        thread.join(timeout=30)
    assert {name: j.id for name, j in results.items()} == {
        "first": job.id,
        "second": job.id,
        "third": job.id,
    }
    assert emulator.request_count("GET", JOBS) - gets == 4
    assert [pause_of(e) for e in events if isinstance(e, RateLimitWait)] == [
        (1.0, "GET", f"/jobs/{job.id}")
    ]
