"""A deleted or emptied state file beside traces of an earlier state (journal, backup, kept
versions) stops every command with exit 1 and the restore command; nothing is created on the
service and nothing is overwritten. `state versions` and `state restore` bring the state back."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rmapply.emulator import Emulator
from rmapply.state import Journal, StateDocument, journal_path, versions_path
from tests.cli.project import apply, run, state_of, write_project
from tests.schemas import assert_valid

COMMANDS = [
    pytest.param(["plan"], [], id="plan"),
    pytest.param(["plan"], ["--no-refresh"], id="plan --no-refresh"),
    pytest.param(["plan"], ["--out", "{dir}/plan.json"], id="plan --out"),
    pytest.param(["apply"], ["--auto-approve"], id="apply"),
    pytest.param(["refresh"], [], id="refresh"),
    pytest.param(["import"], ["jobs.site-a", "some-id"], id="import"),
    pytest.param(["status"], [], id="status"),
    pytest.param(["wait"], [], id="wait"),
    pytest.param(["output"], [], id="output"),
    pytest.param(["state", "list"], [], id="state list"),
    pytest.param(["state", "show"], ["jobs.site-a"], id="state show"),
    pytest.param(["state", "rm"], ["jobs.site-a"], id="state rm"),
    pytest.param(["state", "mv"], ["jobs.site-a", "jobs.site-b"], id="state mv"),
    pytest.param(["state", "forget-intent"], ["jobs.site-a"], id="state forget-intent"),
]


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment of a user pointed at the emulator."""
    return {"RMAPPLY_TOKEN": token, "RMAPPLY_ENDPOINT": emulator.base_url, "NO_COLOR": "1"}


@pytest.fixture
def project(tmp_path: Path, itwin_id: str, env: dict[str, str]) -> Path:
    """Two jobs applied, then changed and applied again: a state at serial >= 2 with a backup."""
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}, "site-b": {}})
    apply(tmp_path, env)
    write_project(
        tmp_path, itwin_id, {"site-a": {"submit": "false", "quality": "Extra"}, "site-b": {}}
    )
    apply(tmp_path, env)
    assert (tmp_path / "rmapply.state.json.backup").exists()
    return tmp_path


def files(folder: Path) -> dict[str, bytes]:
    """The state's files beside it (lock files aside), with their bytes."""
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.glob("rmapply.state.json*"))
        if p.is_file() and ".lock" not in p.name
    }


def refused(project: Path, env: dict[str, str], emulator: Emulator, *args: str) -> tuple[str, ...]:
    """Run a command that must refuse: exit 1, no output, no file changed, no job created."""
    before = (files(project), sorted(j.id for j in emulator.jobs()))
    code, out, err = run(*args, env=env)
    assert (code, out) == (1, ""), err
    assert (files(project), sorted(j.id for j in emulator.jobs())) == before
    assert not (project / "plan.json").exists()
    return tuple(err.splitlines())


def leave_journal(project: Path) -> StateDocument:
    """What an apply killed after a checkpoint leaves: a journal extending the state file."""
    document = StateDocument.model_validate(state_of(project))
    journal = Journal(journal_path(project / "rmapply.state.json"), document.model_copy())
    record = document.resources["jobs.site-b"]
    seq = journal.intent("jobs.site-b", "observe", details={"remoteId": record.remote_id})
    journal.result(seq, upsert=record.model_copy(update={"outputs": {"OBJ": "obj-1"}}))
    journal.close()
    return document


def test_plan_and_apply_refuse_a_deleted_state_file_beside_its_journal(
    project: Path, env: dict[str, str], emulator: Emulator
) -> None:
    document = leave_journal(project)
    state = project / "rmapply.state.json"
    state.unlink()
    for command in (["plan"], ["apply", "--auto-approve"]):
        error = refused(project, env, emulator, *command, "-C", str(project))
        assert error[0] == (
            f"Error: state file {state} is missing, but traces of an earlier state are beside "
            "it; nothing was read or changed:"
        )
        assert (
            f"  {state}.journal: 2 record(s) written after serial {document.serial} of lineage "
            f"{document.lineage}"
        ) in error
        assert error[-1].startswith(
            f"Hint: if you have a copy of {state} at serial {document.serial} (version control, "
            f"a snapshot), put it back first: the journal is replayed onto it; 'rmapply state "
            f"restore -C {project}' restores backup (serial {document.serial - 1}, 3 "
            "resources) and replays the journal onto it; or run the command again with "
            "--ignore-previous-state"
        )
    assert len(emulator.jobs()) == 2


@pytest.mark.parametrize(("command", "args"), COMMANDS)
def test_every_command_refuses_a_deleted_state_file_beside_its_backup(
    project: Path,
    env: dict[str, str],
    emulator: Emulator,
    command: list[str],
    args: list[str],
) -> None:
    state = project / "rmapply.state.json"
    state.unlink()
    args = [a.replace("{dir}", str(project)) for a in args]
    error = refused(project, env, emulator, *command, "-C", str(project), *args)
    assert error[0] == (
        f"Error: state file {state} is missing, but traces of an earlier state are beside it; "
        "nothing was read or changed:"
    )
    assert error[1].startswith(f"  {state}.backup: backup (serial ")
    assert f"'rmapply state restore -C {project}' restores backup" in error[-1]


def test_plan_and_apply_refuse_an_empty_state_file_beside_its_backup(
    project: Path, env: dict[str, str], emulator: Emulator
) -> None:
    state = project / "rmapply.state.json"
    state.write_bytes(b"")
    for command in (["plan"], ["apply", "--auto-approve"]):
        error = refused(project, env, emulator, *command, "-C", str(project))
        assert error[0].startswith(f"Error: state file {state} is empty, but traces")


def test_a_first_apply_killed_before_its_first_checkpoint_is_replayed(
    tmp_path: Path, itwin_id: str, env: dict[str, str], emulator: Emulator
) -> None:
    write_project(tmp_path, itwin_id, {"site-a": {"submit": "false"}})
    apply(tmp_path, env)
    document = StateDocument.model_validate(state_of(tmp_path))
    for leftover in tmp_path.glob("rmapply.state.json*"):  # as if the first apply died
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()  # before writing
    journal = Journal(
        journal_path(tmp_path / "rmapply.state.json"), StateDocument(lineage=document.lineage)
    )
    for address, record in document.resources.items():
        journal.result(journal.intent(address, "create"), upsert=record)
    journal.close()
    code, out, err = run("plan", "-C", str(tmp_path), "--detailed-exitcode", env=env)
    assert code == 0, (out, err)
    apply(tmp_path, env)
    assert len(emulator.jobs()) == 1
    assert state_of(tmp_path)["lineage"] == document.lineage


def test_lock_files_alone_are_not_traces_of_an_earlier_state(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(tmp_path, itwin_id)
    (tmp_path / "rmapply.state.json.lock").write_bytes(b"")
    (tmp_path / "rmapply.state.json.lock.info").write_text('{"pid": 1}', encoding="utf-8")
    code, out, err = run("plan", "-C", str(tmp_path), "--detailed-exitcode", env=env)
    assert (code, err) == (2, "")
    assert "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete" in out


def test_state_restore_brings_the_backup_back_and_replays_the_journal(
    project: Path, env: dict[str, str], emulator: Emulator
) -> None:
    document = leave_journal(project)
    state = project / "rmapply.state.json"
    state.unlink()
    code, out, err = run("state", "versions", "-C", str(project), "--format", "json", env=env)
    assert code == 0, err
    listed = json.loads(out)
    assert_valid("state-versions", listed)
    assert listed["state"]["condition"] == "missing"
    assert [(v["version"], v["serial"]) for v in listed["versions"]][-1] == (
        "backup",
        document.serial - 1,
    )
    code, out, err = run("state", "restore", "-C", str(project), env=env)
    assert code == 0, err
    assert out.splitlines()[:2] == [
        f"Restored backup (serial {document.serial - 1}) into {state} as serial "
        f"{document.serial + 1} of lineage {document.lineage}: 3 resource(s).",
        "Replayed 2 journal record(s) onto it.",
    ]
    assert err.startswith(
        f"warning: the changes written between serial {document.serial - 1} and "
        f"{document.serial} are in no trace left"
    )
    restored = state_of(project)
    assert (restored["serial"], restored["lineage"]) == (document.serial + 1, document.lineage)
    assert restored["resources"]["jobs.site-b"]["outputs"] == {"OBJ": "obj-1"}
    code, out, err = run("plan", "-C", str(project), env=env)
    assert code == 0, err
    assert "will be created" not in out
    assert len(emulator.jobs()) == 2


def test_a_saved_plan_is_stale_after_state_restore(
    project: Path, env: dict[str, str], emulator: Emulator
) -> None:
    plan_file = project / "plan.json"
    serial = state_of(project)["serial"]
    code, _, err = run("plan", "-C", str(project), "--out", str(plan_file), env=env)
    assert code == 0, err
    code, _, err = run("state", "restore", "-C", str(project), "backup", env=env)
    assert code == 0, err
    code, _, err = run("apply", "-C", str(project), str(plan_file), env=env)
    assert code == 1
    assert f"  serial: the plan has {serial}, the state has {serial + 1}" in err.splitlines()
    assert len(emulator.jobs()) == 2


def test_ignore_previous_state_starts_empty_knowingly_and_keeps_the_traces(
    project: Path, env: dict[str, str]
) -> None:
    state = project / "rmapply.state.json"
    backup = (project / "rmapply.state.json.backup").read_bytes()
    state.unlink()
    code, out, err = run("state", "list", "-C", str(project), "--ignore-previous-state", env=env)
    assert (code, out) == (0, "")
    assert err.startswith(f"warning: state file {state} is missing: starting from an empty state")
    code, out, err = run(
        "state", "rm", "-C", str(project), "--ignore-previous-state", "jobs.site-a", env=env
    )
    assert code == 1
    assert backup in [p.read_bytes() for p in versions_path(state).iterdir()]
    assert not (project / "rmapply.state.json.backup").exists()


def test_after_ignore_previous_state_a_deleted_state_is_restored_from_the_new_lineage(
    project: Path, itwin_id: str, env: dict[str, str], emulator: Emulator
) -> None:
    state = project / "rmapply.state.json"
    for move in (["jobs.site-a", "jobs.moved"], ["jobs.moved", "jobs.site-a"]):
        assert run("state", "mv", "-C", str(project), *move)[0] == 0  # the old lineage: serial 4
    state.unlink()
    apply(project, env, "--ignore-previous-state")  # a new lineage, at serial 1, two new jobs
    write_project(project, itwin_id, {"site-a": {"submit": "false"}, "site-b": {}})
    apply(project, env)  # serial 2 of the new lineage (serial 1 is kept): far below the old one
    current = state_of(project)
    jobs = len(emulator.jobs())
    state.unlink()
    code, out, err = run("plan", "-C", str(project), env=env)
    assert (code, out) == (1, "")
    hint = err.splitlines()[-1]
    assert f"'rmapply state restore -C {project}' restores backup (serial 1, 3 resources)" in hint
    code, out, err = run("state", "restore", "-C", str(project), env=env)
    assert (code, err) == (0, ""), out
    restored = state_of(project)
    assert restored["lineage"] == current["lineage"]
    assert restored["resources"]["jobs.site-b"] == current["resources"]["jobs.site-b"]
    code, out, err = run("apply", "-C", str(project), "--auto-approve", env=env)
    assert code == 0, err
    assert len(emulator.jobs()) == jobs  # the ids of the new lineage were not lost


def test_deleting_the_state_of_a_single_apply_is_refused_not_taken_for_a_new_project(
    tmp_path: Path, itwin_id: str, env: dict[str, str], emulator: Emulator
) -> None:
    write_project(tmp_path, itwin_id)
    apply(tmp_path, env)
    state = tmp_path / "rmapply.state.json"
    state.unlink()  # "start fresh": the state file alone is gone, the version kept stays
    error = refused(tmp_path, env, emulator, "apply", "-C", str(tmp_path), "--auto-approve")
    assert re.fullmatch(
        rf"  {re.escape(str(versions_path(state)))}/\d{{8}}T\d{{6}}\.\d{{6}}Z-serial-1 "
        r"\(serial 1, lineage [0-9a-f-]{36}, 2 resources, kept \S+Z\)",
        error[1],
    ), error[1]
    assert len(emulator.jobs()) == 1


def test_state_versions_keeps_as_many_versions_as_configured(
    tmp_path: Path, itwin_id: str, env: dict[str, str]
) -> None:
    write_project(
        tmp_path,
        itwin_id,
        {"site-a": {}, "site-b": {}, "site-c": {}},
        extra_config="[state]\nversions = 2\n",
    )
    apply(tmp_path, env)  # serial 1, kept as new
    for address in ("jobs.site-a", "jobs.site-b", "jobs.site-c"):  # each keeps what it replaces
        code, _, err = run("state", "rm", "-C", str(tmp_path), address, env=env)
        assert code == 0, err
    code, out, err = run("state", "versions", "-C", str(tmp_path), env=env)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["VERSION", "SERIAL", "RESOURCES", "KEPT", "(UTC)", "LINEAGE"]
    assert [(line.split()[1], line.split()[2]) for line in lines[1:-1]] == [
        ("2", "3"),
        ("3", "2"),
        ("3", "2"),
    ]
    assert lines[1].split()[0].endswith("-serial-2") and lines[3].split()[0] == "backup"
    assert lines[-1] == (
        f"Restore one with 'rmapply state restore -C {tmp_path} VERSION' (default: the newest)."
    )
