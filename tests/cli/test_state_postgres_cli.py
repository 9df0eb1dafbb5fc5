"""apply and plan with [state] backend = "postgres", against the emulator over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rmapply.emulator import Emulator
from rmapply.state.postgres import PostgresStateStore
from tests.cli.project import REPO, run, write_project
from tests.state import pg


@pytest.fixture
def database_key() -> Iterator[tuple[str, str]]:
    """The test server's URL and a key of this test's own (deleted afterwards)."""
    url, key = pg.require_server(), pg.new_key()
    yield url, key
    pg.drop_key(url, pg.TEST_SCHEMA, key)


def test_apply_keeps_its_state_in_postgres_and_the_next_plan_finds_nothing_to_do(
    emulator: Emulator, token: str, itwin_id: str, tmp_path: Path, database_key: tuple[str, str]
) -> None:
    url, key = database_key
    config = f'[state]\nbackend = "postgres"\nkey = "{key}"\nschema = "{pg.TEST_SCHEMA}"\n'
    folder = write_project(tmp_path, itwin_id, extra_config=config)
    env = {
        "RMAPPLY_TOKEN": token,
        "RMAPPLY_ENDPOINT": emulator.base_url,
        "RMAPPLY_STATE_URL": url,
        "NO_COLOR": "1",
    }
    assert run("-C", str(folder), "state", "init", env=env)[0] == 0
    code, _, err = run("-C", str(folder), "apply", "--auto-approve", env=env)
    assert code == 0, err
    state = PostgresStateStore(url, key, schema=pg.TEST_SCHEMA).load()
    assert set(state.resources) == {"workspaces.main", "jobs.site-a"}
    assert emulator.job(state.resources["jobs.site-a"].remote_id) is not None
    assert not (folder / "rmapply.state.json").exists()  # nothing written locally
    code, out, err = run("-C", str(folder), "plan", "--detailed-exitcode", env=env)
    assert code == 0, out + err


def test_apply_refuses_naming_the_holder_while_another_runner_holds_the_postgres_lock(
    emulator: Emulator,
    token: str,
    itwin_id: str,
    tmp_path: Path,
    database_key: tuple[str, str],
) -> None:
    url, key = database_key
    config = f'[state]\nbackend = "postgres"\nkey = "{key}"\nschema = "{pg.TEST_SCHEMA}"\n'
    folder = write_project(tmp_path, itwin_id, extra_config=config)
    env = {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_STATE_URL": url}
    assert run("-C", str(folder), "state", "init", env=env)[0] == 0
    worker = (url, pg.TEST_SCHEMA, key, "apply --other-runner")
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.state.workers", "pg-hold-lock", *worker],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        word, backend = holder.stdout.readline().split()
        assert word == "LOCKED"
        code, _, err = run("-C", str(folder), "apply", "--auto-approve", env=env)
        assert code == 1
        assert "locked by" in err and "apply --other-runner" in err
        assert emulator.jobs() == []
    finally:
        holder.kill()  # kill -9: the server ends its connection and so frees the lock
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    pg.wait_backend_gone(url, int(backend))
    code, _, err = run("-C", str(folder), "apply", "--auto-approve", env=env)
    assert code == 0, err
    state = PostgresStateStore(url, key, schema=pg.TEST_SCHEMA).load()
    assert set(state.resources) == {"workspaces.main", "jobs.site-a"}
