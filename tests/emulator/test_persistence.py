"""SQLite persistence: a restart on the same file sees the same records; concurrent creates."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import ConfigError
from tests.emulator.conftest import Api, job_body


def test_a_restarted_emulator_on_the_same_file_sees_the_same_jobs_and_states(
    tmp_path: Path, token: str, itwin_id: str
) -> None:
    data = tmp_path / "emulator.sqlite"
    options = EmulatorOptions(data=data, speed=0, tokens=(token,), clients={"app": "secret"})
    with Emulator(options) as first:
        api = Api(first, token)
        workspace_id = api.workspace(itwin_id)
        done = api.create_job(workspace_id, name="done")
        running = api.create_job(workspace_id, name="running")
        idle = api.create_job(workspace_id, name="idle")
        api.submit(done["id"])
        first.advance(3600)
        api.submit(running["id"])
        first.advance(10)
        issued = first.issue_token("app")
        before = {
            j["id"]: j for j in (api.job(done["id"]), api.job(running["id"]), api.job(idle["id"]))
        }
        api.close()
    with Emulator(options) as second:
        api = Api(second, token)
        after = {j.id: j.to_wire() for j in second.jobs()}
        assert after == before
        assert [w.id for w in second.workspaces()] == [workspace_id]
        assert Api(second, issued).get("/limits/engines").status_code == 200
        second.advance(3600)
        assert api.job(running["id"])["state"] == "success"
        assert api.job(done["id"]) == before[done["id"]]
        api.close()


def test_the_clock_keeps_running_while_the_emulator_is_stopped(
    tmp_path: Path, token: str, itwin_id: str
) -> None:
    data = tmp_path / "emulator.sqlite"
    with Emulator(EmulatorOptions(data=data, speed=0)) as first:
        api = Api(first, token)
        job = api.create_job(api.workspace(itwin_id))
        api.submit(job["id"])
        now = first.now_ms()
        api.close()
    with Emulator(EmulatorOptions(data=data, speed=0)) as second:
        # Stopped at speed 0: no simulated time passed while it was down.
        assert second.now_ms() == now
        assert Api(second, token).job(job["id"])["state"] == "active"


def test_concurrent_creates_from_threads_all_land_exactly_once(
    emulator_factory: Callable[..., Emulator], tmp_path: Path, token: str, itwin_id: str
) -> None:
    emu = emulator_factory(EmulatorOptions(data=tmp_path / "concurrent.sqlite"))
    workspace_id = Api(emu, token).workspace(itwin_id)
    per_thread, threads = 25, 8
    created: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        api = Api(emu, token)
        for i in range(per_thread):
            answer = api.post("/jobs", json=job_body(workspace_id, name=f"t{index}-{i}"))
            with lock:
                if answer.status_code == 201:
                    created.append(answer.json()["job"]["id"])
                else:
                    failures.append(answer.text)
        api.close()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    jobs = emu.jobs()
    assert len(jobs) == per_thread * threads
    assert sorted(j.id for j in jobs) == sorted(created)
    assert len({j.name for j in jobs}) == per_thread * threads
    assert emu.internal_errors == []


def test_a_stopped_emulator_cuts_its_keep_alive_connections(token: str) -> None:
    emu = Emulator(EmulatorOptions()).start()
    api = Api(emu, token)
    assert api.get("/limits/engines").status_code == 200
    emu.stop()
    with pytest.raises(requests.ConnectionError):
        api.get("/limits/engines")
    api.close()


def test_a_file_database_uses_write_ahead_logging(tmp_path: Path) -> None:
    data = tmp_path / "wal.sqlite"
    with Emulator(EmulatorOptions(data=data)):
        pass
    with sqlite3.connect(data) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_after_a_kill_the_restarted_clock_continues_from_where_it_was(
    tmp_path: Path, token: str, itwin_id: str
) -> None:
    data = str(tmp_path / "killed.sqlite")
    command = [sys.executable, "-c", "from rmapply.cli import main; main()", "serve"]
    command += ["--port", "0", "--data", data, "--speed", "1000000"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    workspace = session.post(f"{base_url}/workspaces", json={"name": "w"}, timeout=10).json()
    job = session.post(
        f"{base_url}/jobs", json=job_body(workspace["workspace"]["id"]), timeout=10
    ).json()["job"]
    session.patch(f"{base_url}/jobs/{job['id']}", json={"state": "Active"}, timeout=10)
    session.close()
    process.kill()  # no clean stop: the clock is never saved at exit
    process.wait(timeout=10)
    process.stdout.close()
    with Emulator(EmulatorOptions(data=data, speed=0)) as restarted:
        # A million simulated seconds pass per real second: the job is long over.
        found = restarted.job(job["id"])
        assert found is not None
        assert found.state.value == "success"
        assert restarted.now_ms() >= int(found.created_date_time.timestamp() * 1000)


def test_a_database_of_another_schema_version_is_refused_and_left_as_it_is(
    tmp_path: Path,
) -> None:
    data = tmp_path / "e.sqlite"
    with Emulator(EmulatorOptions(data=data)):
        pass
    with sqlite3.connect(data) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(ConfigError) as caught:
        Emulator(EmulatorOptions(data=data)).start()
    assert caught.value.message == (
        f"{data} is not an rmapply emulator database: its schema version is 99, this emulator "
        "reads 1; it was left untouched"
    )
    with sqlite3.connect(data) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "99",
        )
    db.close()


def test_an_emulator_on_a_port_in_use_raises_config_error(emulator: Emulator) -> None:
    with pytest.raises(ConfigError) as caught:
        Emulator(EmulatorOptions(port=emulator.port)).start()
    assert caught.value.message == f"cannot listen on 127.0.0.1:{emulator.port}: the port is in use"
