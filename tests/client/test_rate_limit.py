"""429: every method waits for Retry-After and is sent again; all threads of a client wait."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class BurstServer:
    """A real HTTP server that answers the first ``warmup`` requests, holds the next ``n`` until
    all ``n`` have arrived, then answers each 429 (Retry-After: 1); every later request gets the
    engines limit again. It records when each 429 was about to leave and when each later request
    arrived (monotonic clock)."""

    def __init__(self, n: int, warmup: int) -> None:
        outer = self
        self.barrier = threading.Barrier(n, timeout=30)
        self.lock = threading.Lock()
        self.seen = 0
        self.limited_at: list[float] = []
        self.arrived_after: list[float] = []
        self.n = n
        self.warmup = warmup

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with outer.lock:
                    outer.seen += 1
                    first_burst = outer.warmup < outer.seen <= outer.warmup + outer.n
                    if outer.seen > outer.warmup + outer.n:
                        outer.arrived_after.append(time.monotonic())
                if first_burst:
                    outer.barrier.wait()
                    body = json.dumps({"error": {"code": "RateLimitExceeded", "message": "slow"}})
                    with outer.lock:  # before the answer leaves: the client's pause starts later
                        outer.limited_at.append(time.monotonic())
                    self._send(429, body.encode(), {"Retry-After": "1"})
                    return
                self._send(200, b'{"enginesLimit": {"maxEngines": 25}}', {})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/contextcapture"

    def __enter__(self) -> BurstServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_429s_to_requests_in_flight_together_make_one_pause_then_a_paced_release(
    make_client: MakeClient, events: list[ClientEvent]
) -> None:
    workers = 4
    with BurstServer(workers, warmup=5) as server:
        client = make_client(server.url)
        for _ in range(5):  # a second of calls at about 4 a second: the pace to halve
            client.engines_limit()
            time.sleep(0.25)
        with ThreadPoolExecutor(workers) as pool:
            limits = list(pool.map(lambda _: client.engines_limit(), range(workers)))
    assert [limit.max_engines for limit in limits] == [25] * workers
    pauses = [e for e in events if isinstance(e, RateLimitWait)]
    assert [pause_of(e) for e in pauses] == [(1.0, "GET", "/limits/engines")]
    assert server.seen == 5 + 2 * workers
    # nobody was sent again before Retry-After had passed since the first 429 reached it, and
    # then one at a time: the k-th not before k intervals of the new pace (less 10%: each good
    # answer raises the pace a little)
    interval = 1 / (pauses[0].rate or 1)
    assert interval >= 0.02
    resumed = min(server.limited_at) + 1.0
    for k, arrived in enumerate(sorted(server.arrived_after)):
        assert arrived >= resumed + k * interval * 0.9
