"""``rm rmapply.state.json.lock`` while apply runs, then a second apply: nothing runs twice."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.e2e.apply_runs import (
    RUN_TIMEOUT,
    STATE,
    add_jobs,
    check,
    converge,
    environment,
    serving,
    start_apply,
    wait_for_journal,
    write_project,
)

pytestmark = pytest.mark.crash

JOBS = range(8)


def test_apply_whose_lock_file_is_deleted_stops_and_the_second_apply_duplicates_nothing(
    tmp_path: Path,
) -> None:
    with serving(tmp_path / "emulator.sqlite3", "--latency-ms", "250") as base_url:
        env = environment(base_url)
        itwin_id = str(uuid.uuid4())
        project = write_project(tmp_path / "project", itwin_id, parallelism=1)
        add_jobs(project, JOBS)
        first = start_apply(project, env, output=True)
        # the first apply is in the middle of its work: workspace made, the first job being created
        wait_for_journal(project, first, 3, creates_in_flight=False)
        assert first.poll() is None, "the first apply ended before its lock file was deleted"
        (project / f"{STATE}.lock").unlink()
        second = start_apply(project, env, output=True)
        _, first_err = first.communicate(timeout=RUN_TIMEOUT)
        second.communicate(timeout=RUN_TIMEOUT)

        # the first apply noticed at its next record and stopped before sending anything more
        assert first.returncode == 1
        assert f"the lock file {project / STATE}.lock was deleted or replaced" in " ".join(
            first_err.split()
        )
        converge(project, env)  # no manual command
        check(project, base_url, itwin_id, JOBS)
