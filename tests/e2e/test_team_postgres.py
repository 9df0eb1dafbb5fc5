"""Two runners (clones of one manifests repo) share one PostgreSQL state against ``rmapply serve``.

Concurrent applies: one applies, the other refuses naming the holder, or waits with
``--lock-timeout`` and then finds nothing to do. A kill -9 of the lock holder at a random point
(``RMAPPLY_CRASH_TRIALS`` trials, ``RMAPPLY_CRASH_SEED``): the other clone takes the lock, recovers
the journal and converges with ``apply`` only. The lock's connection cut by the server
(``pg_terminate_backend``): apply stops with exit 1 and a clear message; the next apply converges.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.apply_runs import (
    RMAPPLY,
    RUN_TIMEOUT,
    add_jobs,
    converge,
    free_port,
    run,
    serving,
)
from tests.e2e.team_runs import (
    Team,
    check_team,
    journal_records,
    lock_backend,
    make_team,
    pull,
    wait_for_records,
)
from tests.state import pg

TRIALS = int(os.environ.get("RMAPPLY_CRASH_TRIALS", "2"))
SEED = int(os.environ.get("RMAPPLY_CRASH_SEED", "20260501"))
NEW_JOBS = 4
RECORDS = 4 * NEW_JOBS  # an intent and a result for each create and each submit
# POSTs slow enough that an apply of NEW_JOBS jobs one at a time outlasts the start-up of
# another process by seconds: the two "concurrent" applies do overlap
SLOW_POSTS = ("--latency-ms", "5", "--post-latency-ms", "600")

pytestmark = [pytest.mark.crash, pytest.mark.timeout(240 + 120 * TRIALS)]


@pytest.fixture
def shared_key() -> Iterator[tuple[str, str]]:
    """The test server's URL and a key of this test's own (deleted afterwards)."""
    url, key = pg.require_server(), pg.new_key()
    yield url, key
    pg.drop_key(url, pg.TEST_SCHEMA, key)


def start(clone: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``rmapply apply -C CLONE --auto-approve ARGS`` in the background, output captured."""
    return subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(clone), "--auto-approve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def both(team: Team, *args: str) -> list[tuple[int, str, str]]:
    """Apply from both clones, started together; their exit codes and outputs."""
    processes = [start(clone, team.env, *args) for clone in (team.first, team.second)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=RUN_TIMEOUT)
        results.append((process.returncode, out, err))
    return results


def test_concurrent_applies_from_two_runners_one_applies_and_the_other_refuses_naming_it(
    tmp_path: Path, shared_key: tuple[str, str]
) -> None:
    url, key = shared_key
    itwin_id = str(uuid.uuid4())
    with serving(tmp_path / "emulator.sqlite3", *SLOW_POSTS) as base_url:
        team = make_team(tmp_path, url, key, itwin_id, base_url, parallelism=1)
        add_jobs(team.first, range(NEW_JOBS))
        pull(team.first, team.second)
        results = both(team)
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 1], results
        _, _, refused = next(r for r in results if r[0] == 1)
        assert "locked by" in refused and "apply" in refused, refused
        assert "--lock-timeout" in refused  # what next
        check_team(team, range(NEW_JOBS))


def test_concurrent_applies_with_a_lock_timeout_wait_and_the_second_finds_nothing_to_do(
    tmp_path: Path, shared_key: tuple[str, str]
) -> None:
    url, key = shared_key
    itwin_id = str(uuid.uuid4())
    with serving(tmp_path / "emulator.sqlite3", *SLOW_POSTS) as base_url:
        team = make_team(tmp_path, url, key, itwin_id, base_url, parallelism=1)
        add_jobs(team.first, range(NEW_JOBS))
        pull(team.first, team.second)
        results = both(team, "--lock-timeout", "60")
        assert [code for code, _, _ in results] == [0, 0], results
        said = [out for _, out, _ in results]
        # one of them created the jobs, the other waited for it and then had nothing to do
        assert sum("No changes" in out for out in said) == 1, said
        check_team(team, range(NEW_JOBS))


def kill_holder(team: Team, rng: random.Random) -> tuple[bool, tuple[str, ...]]:
    """Start an apply from the first clone, kill -9 it once the shared journal holds a random
    number of records; whether it was killed mid-work, and the calls it left on the wire."""
    process = start(team.first, team.env)
    before = journal_records(team)[0]
    wait_for_records(team, process, before + rng.randint(1, RECORDS - 2))
    live = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    records, in_flight = journal_records(team)
    return live and records > 0, in_flight


def test_apply_killed_while_holding_the_postgres_lock_is_recovered_by_the_other_runner(
    tmp_path: Path, shared_key: tuple[str, str]
) -> None:
    url, key = shared_key
    rng = random.Random(SEED + 7)
    itwin_id = str(uuid.uuid4())
    jobs = range(0)
    kills: list[tuple[bool, tuple[str, ...]]] = []
    with serving(tmp_path / "emulator.sqlite3", "--latency-ms", "15", port=free_port()) as base:
        team = make_team(tmp_path, url, key, itwin_id, base)
        for _ in range(TRIALS):
            jobs = range(jobs.stop + NEW_JOBS)
            add_jobs(team.first, range(jobs.stop - NEW_JOBS, jobs.stop))
            pull(team.first, team.second)
            kills.append(kill_holder(team, rng))
            # the other runner: it waits for the server to end the killed one's session (and
            # so its lock), replays the journal rows and carries the work on
            taken = run(team.second, team.env, "apply", "--auto-approve", "--lock-timeout", "60")
            assert "locked by" not in taken.stderr, taken.stderr
            converge(team.second, team.env)
            check_team(team, jobs)
    print(f"kills (mid-work, in flight): {kills}")  # shown with -s
    assert sum(mid_work for mid_work, _ in kills) >= 0.6 * TRIALS, kills


def test_apply_whose_lock_connection_is_cut_stops_cleanly_and_the_next_apply_converges(
    tmp_path: Path, shared_key: tuple[str, str]
) -> None:
    import psycopg

    url, key = shared_key
    itwin_id = str(uuid.uuid4())
    jobs = range(2 * NEW_JOBS)
    slow = ("--latency-ms", "5", "--post-latency-ms", "300")
    with serving(tmp_path / "emulator.sqlite3", *slow) as base:
        team = make_team(tmp_path, url, key, itwin_id, base, parallelism=2)
        add_jobs(team.first, jobs)
        pull(team.first, team.second)
        process = start(team.first, team.env)
        wait_for_records(team, process, 3)  # in the middle of its creates
        backend = lock_backend(team)
        assert backend is not None and process.poll() is None
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (backend,))
        out, err = process.communicate(timeout=RUN_TIMEOUT)
        assert process.returncode == 1, out + err
        assert "lock of state" in err and "was lost" in err, err
        assert "Traceback" not in err
        # nothing lost: every job the service holds is in the state, or settled by the next apply
        converge(team.second, team.env)
        check_team(team, jobs)
