"""Discovery and reading: links, special files, permissions and empty directories."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rmapply.config import load_config
from rmapply.errors import ConfigError, ManifestError
from rmapply.manifests import discover as discover_module
from tests.manifests.conftest import JOB_YAML, load, problems, write_tree

MakeDir = Callable[..., Path]


@contextmanager
def without_read_rights() -> Iterator[None]:
    """Permission checks as an ordinary user, even when the tests run as root."""
    if os.geteuid() != 0:
        yield
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.setfsuid(65534)  # file access as nobody: root's override of permissions is off
    try:
        yield
    finally:
        libc.setfsuid(0)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A manifests directory that another user may enter (tmp_path's parents are private)."""
    folder = Path(tempfile.mkdtemp(prefix="rmapply-perm-"))
    folder.chmod(0o755)
    write_tree(folder, {})
    (folder / "workspaces.toml").chmod(0o644)
    (folder / "rmapply.toml").chmod(0o644)
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o755) if path.is_dir() else path.chmod(0o644)
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()


def test_a_directory_without_manifests_is_an_error_not_an_empty_plan(make_dir: MakeDir) -> None:
    directory = make_dir({"workspaces.toml": None, "vars/default.yaml": "a: 1\n", "README.md": ""})
    with pytest.raises(ManifestError) as caught:
        load(directory)
    assert [p.render() for p in caught.value.problems] == [
        f"{directory}: no manifests: no *.toml, *.yaml or *.yml file (or .j2 template) outside "
        "_partials, .hidden folders, vars/ and rmapply.toml"
    ]
    assert caught.value.hint == (
        "pass -C with the manifests directory, or 'rmapply init' a new project; to ask for no "
        "resources at all, keep one empty manifest (e.g. workspaces.toml)"
    )


def test_one_empty_manifest_asks_for_no_resources(make_dir: MakeDir) -> None:
    result = load(make_dir({"workspaces.toml": "# nothing yet\n"}))
    assert (result.files, result.desired.jobs, result.desired.workspaces) == (
        ("workspaces.toml",),
        {},
        {},
    )


def test_broken_and_looping_links_are_reported_not_skipped(make_dir: MakeDir) -> None:
    directory = make_dir({})
    os.symlink("loop.yaml", directory / "loop.yaml")
    os.symlink(directory / "missing.yaml", directory / "broken.toml")
    os.symlink("a.yml", directory / "b.yml")
    os.symlink("b.yml", directory / "a.yml")
    assert problems(directory) == [
        "a.yml: is a link that is broken or loops",
        "b.yml: is a link that is broken or loops",
        "broken.toml: is a link that is broken or loops",
        "loop.yaml: is a link that is broken or loops",
    ]


def test_a_link_to_a_manifest_inside_the_directory_is_read(make_dir: MakeDir) -> None:
    directory = make_dir({"_shared/job.yaml": JOB_YAML})
    os.symlink("_shared/job.yaml", directory / "job.yaml")
    assert [str(a) for a in load(directory).desired.jobs] == ["jobs.site-a"]


def test_special_files_named_like_manifests_are_refused_without_reading(
    make_dir: MakeDir,
) -> None:
    directory = make_dir({})
    os.mkfifo(directory / "pipe.yaml")  # reading it would wait forever
    os.symlink("/dev/zero", directory / "_zero.j2")
    (directory / "a.yaml.j2").write_text("{% include '_zero.j2' %}\n")
    os.symlink("_shared", directory / "linked.yaml")
    (directory / "_shared").mkdir()
    assert problems(directory) == [
        "linked.yaml: is a link to a folder (not followed)",
        "pipe.yaml: is not a regular file",
    ]
    (directory / "linked.yaml").unlink()
    (directory / "pipe.yaml").unlink()
    assert problems(directory) == [
        "a.yaml.j2:1: template '_zero.j2' is a link that points outside the manifests directory"
    ]


def test_unreadable_manifest_and_folder_are_named(shared_dir: Path) -> None:
    (shared_dir / "jobs").mkdir(mode=0o755)
    (shared_dir / "jobs" / "a.yaml").write_text(JOB_YAML)
    (shared_dir / "jobs" / "a.yaml").chmod(0o000)
    (shared_dir / "secret").mkdir(mode=0o000)
    with without_read_rights():
        found = problems(shared_dir)
    assert found == ["secret: cannot list: Permission denied"]
    (shared_dir / "secret").chmod(0o755)
    with without_read_rights():
        found = problems(shared_dir)
    assert found == ["jobs/a.yaml: cannot read: Permission denied"]


def test_unreadable_rmapply_toml_is_a_config_error(shared_dir: Path) -> None:
    (shared_dir / "rmapply.toml").chmod(0o000)
    with without_read_rights(), pytest.raises(ConfigError) as caught:
        load(shared_dir)
    assert caught.value.message == f"cannot read {shared_dir / 'rmapply.toml'}: Permission denied"


@pytest.mark.parametrize("kind", ["folder", "broken link", "fifo"])
def test_rmapply_toml_that_is_not_a_regular_file_is_a_config_error(
    make_dir: MakeDir, kind: str
) -> None:
    directory = make_dir({"rmapply.toml": None})
    path = directory / "rmapply.toml"
    if kind == "folder":
        path.mkdir()
    elif kind == "broken link":
        os.symlink("nowhere.toml", path)
    else:
        os.mkfifo(path)
    with pytest.raises(ConfigError) as caught:
        load_config(directory)
    assert caught.value.message == f"{path} is not a regular file"


def test_a_huge_tree_stops_discovery_with_a_hint(
    make_dir: MakeDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discover_module, "MAX_ENTRIES", 50)
    directory = make_dir({f"notes/{i}.txt": "" for i in range(60)})
    with pytest.raises(ManifestError) as caught:
        load(directory)
    assert [p.render() for p in caught.value.problems] == [".: more than 50 files and folders"]
    assert caught.value.hint == (
        "is -C/--dir the manifests directory (the one holding rmapply.toml)?"
    )


def test_a_variable_file_that_never_ends_is_refused(make_dir: MakeDir) -> None:
    directory = make_dir({})
    os.mkfifo(directory / "vars.yaml")
    os.symlink("/dev/zero", directory / "zero.json")
    for name in ("vars.yaml", "zero.json"):
        with pytest.raises(ConfigError) as caught:
            load(directory, var_files=[name])
        assert caught.value.message == (
            f"variable file {name} does not exist or is not a regular file"
        )
