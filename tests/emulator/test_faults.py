"""Injected faults: rate limit, exact 429s, dropped answers, 503s, latency; all reproducible."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.emulator.faults import Faults
from rmapply.emulator.lifecycle import SimClock
from tests.emulator.conftest import Api, job_body

RATE_LIMITED = {
    "error": {
        "code": "RateLimitExceeded",
        "message": "The client sent more requests than allowed by this API for the current tier "
        "of the client.",
    }
}


def test_the_rate_limit_answers_429_with_retry_after_then_lets_the_caller_through(
    emulator_factory: Callable[..., Emulator], token: str
) -> None:
    emu = emulator_factory(EmulatorOptions(rate_limit=2, speed=0))
    api = Api(emu, token)
    assert [api.get("/limits/engines").status_code for _ in range(2)] == [200, 200]
    limited = api.get("/limits/engines")
    assert limited.status_code == 429
    assert limited.json() == RATE_LIMITED
    assert limited.headers["Retry-After"] == "30"
    assert limited.headers["ITwinPlatform-RateLimited-Operation"] == "limits-engines"
    assert limited.headers["ITwinPlatform-RateLimited-API"] == "contextcapture"
    assert limited.headers["ITwinPlatform-RateLimited-Application"] == "static-token"
    assert "ITwinPlatform-RateLimited-Tier" in limited.headers
    other = Api(emu, "another-token")
    assert other.get("/limits/engines").status_code == 200  # the limit is per token
    emu.advance(int(limited.headers["Retry-After"]))
    assert api.get("/limits/engines").status_code == 200
    api.close()
    other.close()


def test_the_rate_limit_bucket_holds_a_minutes_worth_and_refills_that_many_per_minute(
    emulator_factory: Callable[..., Emulator], token: str
) -> None:
    # 6 a minute: a bucket of 6 that refills one request every 10 s
    emu = emulator_factory(EmulatorOptions(rate_limit=6, speed=0))
    api = Api(emu, token)
    assert [api.get("/limits/engines").status_code for _ in range(6)] == [200] * 6
    limited = api.get("/limits/engines")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "10")
    emu.advance(10)
    assert [api.get("/limits/engines").status_code for _ in range(2)] == [200, 429]
    assert emu.rate_limited_count() == 2
    api.close()


def test_a_burst_sets_how_many_requests_the_bucket_holds_apart_from_the_refill(
    emulator_factory: Callable[..., Emulator], token: str
) -> None:
    # 6 a minute refills one every 10 s; the bucket holds only 3 of them
    emu = emulator_factory(EmulatorOptions(rate_limit=6, rate_limit_burst=3, speed=0))
    api = Api(emu, token)
    assert [api.get("/limits/engines").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert emu.rate_limited_count() == 1
    emu.advance(60)  # a minute's 6 requests refill the bucket, but only to its 3
    assert [api.get("/limits/engines").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert emu.rate_limited_count() == 2
    api.close()


def test_throttle_next_answers_exactly_n_requests_with_429(emulator: Emulator, api: Api) -> None:
    emulator.throttle_next(2, retry_after=3)
    first, second, third = (api.get("/limits/engines") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "3"
    assert first.json() == RATE_LIMITED


def test_a_throttled_post_creates_nothing(emulator: Emulator, api: Api, itwin_id: str) -> None:
    workspace_id = api.workspace(itwin_id)
    emulator.throttle_next(1, method="POST", path_prefix="/contextcapture/jobs")
    assert api.post("/jobs", json=job_body(workspace_id)).status_code == 429
    assert emulator.jobs() == []


def test_a_dropped_answer_leaves_the_job_created(
    emulator: Emulator, api: Api, itwin_id: str
) -> None:
    workspace_id = api.workspace(itwin_id)
    emulator.drop_next(1)
    with pytest.raises(requests.ConnectionError):
        api.post("/jobs", json=job_body(workspace_id, name="lost answer"))
    [job] = emulator.jobs()
    assert job.name == "lost answer"
    assert emulator.request_count("POST", "/contextcapture/jobs") == 1
    # The next request is answered normally (on a new connection).
    assert api.job(job.id)["name"] == "lost answer"


def test_drop_next_only_drops_the_matching_requests(
    emulator: Emulator, api: Api, itwin_id: str
) -> None:
    emulator.drop_next(1, method="PATCH", path_prefix="/contextcapture/jobs/")
    workspace_id = api.workspace(itwin_id)
    job = api.create_job(workspace_id)
    with pytest.raises(requests.ConnectionError):
        api.patch(f"/jobs/{job['id']}", json={"state": "Active"})
    assert api.job(job["id"])["state"] in ("active", "success")


def test_fail_next_answers_503_without_processing(
    emulator: Emulator, api: Api, itwin_id: str
) -> None:
    workspace_id = api.workspace(itwin_id)
    emulator.fail_next(1)
    answer = api.post("/jobs", json=job_body(workspace_id))
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "ServiceUnavailable"
    assert emulator.jobs() == []
    assert api.post("/jobs", json=job_body(workspace_id)).status_code == 201


def _statuses(emu: Emulator, token: str, workspace_id: str, n: int) -> list[int]:
    api = Api(emu, token)
    out = [api.post("/jobs", json=job_body(workspace_id)).status_code for _ in range(n)]
    api.close()
    return out


def test_a_fail_rate_answers_that_fraction_with_503_reproducibly_by_seed(
    emulator_factory: Callable[..., Emulator], token: str, itwin_id: str
) -> None:
    runs = []
    for _ in range(2):
        emu = emulator_factory(EmulatorOptions(seed=7))
        workspace_id = Api(emu, token).workspace(itwin_id)
        emu.set_faults(fail_rate=0.5)
        statuses = _statuses(emu, token, workspace_id, 40)
        assert set(statuses) == {201, 503}
        assert len(emu.jobs()) == statuses.count(201)
        runs.append(statuses)
    assert runs[0] == runs[1]


def test_a_drop_rate_drops_that_fraction_after_processing(
    emulator_factory: Callable[..., Emulator], token: str, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(seed=3))
    api = Api(emu, token)
    workspace_id = api.workspace(itwin_id)
    emu.set_faults(drop_rate=0.5)
    answered = dropped = 0
    for _ in range(20):
        try:
            api.post("/jobs", json=job_body(workspace_id))
            answered += 1
        except requests.ConnectionError:
            dropped += 1
    emu.set_faults(drop_rate=0.0)
    assert answered > 0 and dropped > 0
    assert len(emu.jobs()) == 20
    api.close()


def test_latency_and_jitter_are_seeded(emulator: Emulator, api: Api) -> None:
    options = EmulatorOptions(latency_ms=20, jitter_ms=10, seed=1)
    delays = [[Faults(options, SimClock(1.0)).delay_seconds() for _ in range(5)] for _ in range(2)]
    assert delays[0] == delays[1]
    assert all(0.01 <= d <= 0.03 for d in delays[0])
    emulator.set_faults(latency_ms=5, jitter_ms=2)
    assert api.get("/limits/engines").status_code == 200
    emulator.set_faults(latency_ms=0, jitter_ms=0)


def test_post_latency_delays_posts_only_and_is_seeded() -> None:
    options = EmulatorOptions(latency_ms=5, post_latency_ms=1500, post_jitter_ms=1500, seed=3)
    runs = [Faults(options, SimClock(1.0)) for _ in range(2)]
    delays = [[f.post_delay_seconds("POST") for _ in range(20)] for f in runs]
    assert delays[0] == delays[1]
    assert all(0.0 <= d <= 3.0 for d in delays[0])
    assert len(set(delays[0])) == 20  # spread, not one value
    assert runs[0].post_delay_seconds("GET") == 0.0
    assert runs[0].post_delay_seconds("PATCH") == 0.0
    assert EmulatorOptions(post_jitter_ms=-1).problems() == [
        "post_latency_ms and post_jitter_ms must not be negative"
    ]


def test_request_count_counts_every_request_received(emulator: Emulator, api: Api) -> None:
    emulator.throttle_next(1)
    api.get("/limits/engines")
    api.get("/limits/engines")
    api.post("/workspaces", json={"name": "w"})
    assert emulator.request_count() == 3
    assert emulator.request_count("GET") == 2
    assert emulator.request_count(path_prefix="/contextcapture/workspaces") == 1
    assert emulator.request_count("post", "/contextcapture/limits") == 0


def test_invalid_fault_rates_are_refused(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="drop_rate"):
        emulator.set_faults(drop_rate=2.0)
    with pytest.raises(ValueError, match="fail_rate"):
        Emulator(EmulatorOptions(fail_rate=-1))


def test_blank_outputs_next_answers_a_create_without_output_ids_which_the_job_keeps(
    emulator: Emulator, api: Api, itwin_id: str
) -> None:
    workspace = api.workspace(itwin_id)
    emulator.blank_outputs_next(1)
    blank = api.create_job(workspace)
    formats = [o["format"] for o in blank["jobSettings"]["outputs"]]
    assert formats and all("id" not in o for o in blank["jobSettings"]["outputs"])
    kept = api.job(blank["id"])["jobSettings"]["outputs"]
    assert [o["format"] for o in kept] == formats and all(o["id"] for o in kept)
    following = api.create_job(workspace)  # the switch claimed only one create
    assert all(o["id"] for o in following["jobSettings"]["outputs"])
