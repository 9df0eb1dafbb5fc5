"""The project picks its state store through open_state_store: [state] and --local decide."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmapply.errors import StateTracesError
from rmapply.project import LOCAL_STATE, Project
from rmapply.state import StateDocument
from rmapply.state.statefile import backup_path, encode_state


def _project(folder: Path, state: str = "") -> Path:
    (folder / "rmapply.toml").write_text(f"[project]\n[state]\n{state}")
    return folder


def test_the_project_state_is_the_file_that_state_path_names(tmp_path: Path) -> None:
    project = Project.load(_project(tmp_path, 'path = "states/here.json"\n'))
    assert project.store.location == str(tmp_path / "states" / "here.json")
    assert Project.load(_project(tmp_path)).store.location == str(tmp_path / "rmapply.state.json")


def test_a_local_rehearsal_keeps_its_own_state_whatever_state_path_says(tmp_path: Path) -> None:
    project = Project.load(_project(tmp_path, 'path = "states/here.json"\n'))
    project.use_local_state()
    assert project.store.location == str(tmp_path / LOCAL_STATE)


@pytest.mark.parametrize("ignore", [False, True])
def test_a_local_rehearsal_ignores_earlier_traces_only_when_asked(tmp_path: Path, ignore: bool):
    rehearsal = tmp_path / LOCAL_STATE
    rehearsal.parent.mkdir(parents=True)
    backup_path(rehearsal).write_bytes(encode_state(StateDocument(serial=4)))
    project = Project.load(_project(tmp_path), ignore_previous_state=ignore)
    project.use_local_state()
    if ignore:
        assert project.store.load().serial == 0
    else:
        with pytest.raises(StateTracesError):
            project.store.load()
