"""Two clones of one manifests repo sharing one PostgreSQL state key against ``rmapply serve``."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rmapply.client import RealityModelingClient, StaticToken
from rmapply.state.postgres import PostgresStateStore
from tests.e2e.apply_runs import (
    IN_FLIGHT_MARGIN,
    READ_TIMEOUT,
    RUN_TIMEOUT,
    TOKEN,
    environment,
    job_name,
    run,
)
from tests.state import pg


@dataclass(frozen=True)
class Team:
    """Two clones ("runners") of one repo, one PostgreSQL key, one service."""

    first: Path
    second: Path
    url: str
    key: str
    itwin_id: str
    base_url: str

    @property
    def env(self) -> dict[str, str]:
        """The environment of every command of either clone."""
        return environment(self.base_url) | {"RMAPPLY_STATE_URL": self.url, "NO_COLOR": "1"}

    def store(self) -> PostgresStateStore:
        """The shared state, read directly."""
        return PostgresStateStore(self.url, self.key, schema=pg.TEST_SCHEMA)


def write_clone(root: Path, itwin_id: str, key: str, *, parallelism: int = 4) -> Path:
    """A manifests directory whose state is the PostgreSQL key ``key`` (no jobs yet)."""
    root.mkdir(parents=True)
    (root / "rmapply.toml").write_text(
        f'[project]\niTwinId = "{itwin_id}"\nname = "team"\n\n'
        f"[api]\nreadTimeout = {READ_TIMEOUT}\ninFlightMargin = {IN_FLIGHT_MARGIN}\n\n"
        f'[state]\nbackend = "postgres"\nkey = "{key}"\nschema = "{pg.TEST_SCHEMA}"\n\n'
        f"[apply]\nparallelism = {parallelism}\n"
    )
    (root / "workspaces.toml").write_text('[workspaces.main]\nname = "Team test"\n')
    (root / "jobs").mkdir()
    return root


def pull(source: Path, clone: Path) -> None:
    """The other clone pulls: the same manifests (job inputs included) as ``source``."""
    shutil.rmtree(clone / "jobs")
    shutil.copytree(source / "jobs", clone / "jobs")


def make_team(tmp: Path, url: str, key: str, itwin_id: str, base_url: str, **kw: int) -> Team:
    """Two clones of the same repo, and the shared key created (``state init``)."""
    team = Team(
        write_clone(tmp / "runner-a", itwin_id, key, **kw),
        write_clone(tmp / "runner-b", itwin_id, key, **kw),
        url,
        key,
        itwin_id,
        base_url,
    )
    init = run(team.first, team.env, "state", "init")
    assert init.returncode == 0, init.stderr
    return team


def journal_records(team: Team) -> tuple[int, tuple[str, ...]]:
    """How many records the shared journal holds (its header not counted), and the actions of
    the intents without a result (calls on the wire)."""
    import psycopg

    with psycopg.connect(team.url, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT j.line FROM {pg.TEST_SCHEMA}.journal j JOIN {pg.TEST_SCHEMA}.states s"
            " ON s.id = j.state_id WHERE s.key = %s ORDER BY j.n",
            (team.key,),
        ).fetchall()
    intents: dict[int, str] = {}
    records = 0
    for (line,) in rows:
        record = json.loads(bytes(line))
        if record["kind"] == "journal":
            continue  # the header
        records += 1
        if record["kind"] == "intent":
            intents[record["seq"]] = str(record["action"])
        elif record["kind"] == "result":
            intents.pop(record["seq"], None)
    return records, tuple(intents.values())


def wait_for_records(team: Team, process: subprocess.Popen[str], records: int) -> None:
    """Return once the shared journal holds ``records`` records, or ``process`` ended."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        if journal_records(team)[0] >= records:
            return
        time.sleep(0.005)


def lock_backend(team: Team) -> int | None:
    """The server pid of the connection holding the key's advisory lock (None when free)."""
    import psycopg

    with psycopg.connect(team.url, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT l.pid FROM pg_locks l JOIN {pg.TEST_SCHEMA}.states s"
            " ON l.objid = (s.id & 4294967295)::oid AND l.classid = (s.id >> 32)::oid"
            " WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted AND s.key = %s",
            (team.key,),
        ).fetchone()
    return None if row is None else int(row[0])


def check_team(team: Team, numbers: range) -> None:
    """Exactly one job per manifest in the emulator, every id in the shared state, and both
    clones plan "no changes"."""
    with RealityModelingClient(team.base_url, StaticToken(TOKEN)) as client:
        jobs = list(client.list_jobs(f"iTwinId eq {team.itwin_id}", top=1000))
    assert Counter(j.name for j in jobs) == Counter({job_name(i): 1 for i in numbers})
    state = team.store().load()
    assert state.pending == {}
    by_name = {j.name: j for j in jobs}
    for i in numbers:
        assert state.resources[f"jobs.j{i}"].remote_id == by_name[job_name(i)].id
        assert by_name[job_name(i)].state.is_submitted
    for clone in (team.first, team.second):
        plan = run(clone, team.env, "plan", "--detailed-exitcode")
        assert plan.returncode == 0, plan.stdout + plan.stderr
