"""Kept state versions: dated copies of the state file in ``<state>.versions/`` (see docs/state.md).

A command keeps the state file here before its first write; ``state restore`` keeps the file it
replaces. Journals that a restore folded in, or that ``--ignore-previous-state`` set aside, are
moved here too, so nothing rmapply found beside the state is ever deleted unseen.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rmapply.errors import StateError
from rmapply.state.atomic import fsync_directory, read_if_present, write_temporary
from rmapply.state.statefile import backup_path, decode_state

BACKUP = "backup"  # the name under which the backup file is listed and restored
FOLDER_MODE = 0o700
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_VERSION = re.compile(
    r"^(?P<stamp>\d{8}T\d{6}\.\d{6}Z)-(?:serial-(?P<serial>\d+)|unreadable)\.json$"
)
_JOURNAL = re.compile(r"^(?P<stamp>\d{8}T\d{6}\.\d{6}Z)-journal-serial-(?P<serial>\d+)\.jsonl$")


def versions_path(state_path: Path) -> Path:
    """The folder of kept versions: ``<state path>.versions``."""
    return state_path.with_name(state_path.name + ".versions")


@dataclass(frozen=True)
class StateVersion:
    """One earlier state that can be restored: a kept version, or the backup."""

    name: str  # "20241201T120000.000000Z-serial-7", or "backup"
    path: Path
    kept_at: datetime  # when it was kept (the backup: when it was written)
    serial: int | None  # None when the file cannot be read
    lineage: str | None = None
    resources: int | None = None
    problem: str | None = None  # why it cannot be read, if it cannot

    def describe(self) -> str:
        """``backup (serial 7, lineage 6f1c..., 3 resources, kept 2024-12-01T12:00:00Z)``."""
        kept = self.kept_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.problem is not None:
            return f"{self.name} (unreadable: {self.problem}; kept {kept})"
        noun = "resource" if self.resources == 1 else "resources"
        return (
            f"{self.name} (serial {self.serial}, lineage {self.lineage}, {self.resources} "
            f"{noun}, kept {kept})"
        )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


def _parse_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)


def read_version(version: StateVersion) -> StateVersion:
    """``version`` with its lineage and number of resources read from the file (or its problem)."""
    try:
        data = read_if_present(version.path, "state version")
        if data is None:
            raise StateError(f"{version.path} no longer exists")
        document = decode_state(version.path, data)
    except StateError as exc:
        first = exc.message.splitlines()[0].removeprefix(f"state file {version.path} ")
        return StateVersion(version.name, version.path, version.kept_at, None, problem=first)
    return StateVersion(
        version.name,
        version.path,
        version.kept_at,
        document.serial,
        document.lineage,
        len(document.resources),
    )


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []


def kept_versions(state_path: Path, *, read: bool = True) -> list[StateVersion]:
    """The kept versions, oldest first; with ``read``, each file is read for its details."""
    folder = versions_path(state_path)
    found: list[StateVersion] = []
    for name in _names(folder):
        match = _VERSION.match(name)
        if match is None:
            continue
        serial = match.group("serial")
        found.append(
            StateVersion(
                name=name.removesuffix(".json"),
                path=folder / name,
                kept_at=_parse_stamp(match.group("stamp")),
                serial=int(serial) if serial is not None else None,
                problem=None if serial is not None else "kept as it was found",
            )
        )
    found.sort(key=lambda version: version.name)
    return [read_version(v) if read and v.problem is None else v for v in found]


def set_aside_journals(state_path: Path) -> list[Path]:
    """The journals set aside in the versions folder, oldest first."""
    folder = versions_path(state_path)
    return sorted(folder / name for name in _names(folder) if _JOURNAL.match(name))


def backup_version(state_path: Path) -> StateVersion | None:
    """The backup file as a version (read), or None when there is none (or it is empty)."""
    path = backup_path(state_path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    if stat.st_size == 0:
        return None  # an empty file holds no state
    written = datetime.fromtimestamp(stat.st_mtime, UTC)
    return read_version(StateVersion(BACKUP, path, written, None))


def restorable_versions(state_path: Path) -> list[StateVersion]:
    """The kept versions (oldest first), then the backup if there is one (all read)."""
    backup = backup_version(state_path)
    return [*kept_versions(state_path), *([backup] if backup else [])]


def _free_name(folder: Path, moment: datetime, tail: str) -> Path:
    # names are dated to the microsecond; two kept in the same one get the next free microsecond
    while (folder / f"{_stamp(moment)}-{tail}").exists():
        moment += timedelta(microseconds=1)
    return folder / f"{_stamp(moment)}-{tail}"


def _folder(state_path: Path) -> Path:
    folder = versions_path(state_path)
    try:
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
    except OSError as exc:
        raise StateError(
            f"cannot create the folder of kept state versions {folder}: {exc.strerror or exc}",
            hint="the state file was not changed; check the folder's permissions and free space",
        ) from exc
    return folder


def keep_version(
    state_path: Path, data: bytes, serial: int | None, *, now: datetime, keep: int
) -> Path:
    """Write ``data`` (a state file's bytes, of ``serial``; None: unreadable) as a dated version
    (mode 0600), then prune to the newest ``keep``; returns its path."""
    folder = _folder(state_path)
    tail = f"serial-{serial}.json" if serial is not None else "unreadable.json"
    try:
        temporary = write_temporary(folder, ".keep-", data)
        target = _free_name(folder, now, tail)
        os.replace(temporary, target)
        fsync_directory(folder)
    except OSError as exc:
        raise StateError(
            f"cannot keep a version of state file {state_path} in {folder}: {exc.strerror or exc}",
            hint="the state file was not changed; check free disk space and the folder's "
            "permissions, then run the command again",
        ) from exc
    prune(state_path, keep)
    return target


def copy_in_version(state_path: Path, name: str, data: bytes) -> bool:
    """Keep ``data`` under the version name ``name`` it had elsewhere (``state migrate --to
    FILE``); False when a version of that name is kept already (or the name is not one)."""
    if _VERSION.match(f"{name}.json") is None:
        return False  # never a path of its own choosing: only names rmapply gives
    folder = _folder(state_path)
    target = folder / f"{name}.json"
    try:
        temporary = write_temporary(folder, ".keep-", data)
        try:
            os.link(temporary, target)  # never over a version kept here already
        except FileExistsError:
            return False
        finally:
            temporary.unlink()
        fsync_directory(folder)
    except OSError as exc:
        raise StateError(
            f"cannot copy version {name} into {folder}: {exc.strerror or exc}",
            hint="check free disk space and the folder's permissions, then run the command "
            "again (versions copied already are kept)",
        ) from exc
    return True


def keep_current(state_path: Path, serial: int, *, now: datetime, keep: int) -> None:
    """Keep the state file as it is now (at ``serial``) as a dated version, if it holds anything."""
    data = read_if_present(state_path, "state file")
    if not data:
        return
    newest = kept_versions(state_path, read=False)[-1:]
    if newest and newest[0].serial == serial and newest[0].path.read_bytes() == data:
        return  # kept already (a new state is kept right after it is first written)
    keep_version(state_path, data, serial, now=now, keep=keep)


def set_aside(state_path: Path, source: Path, tail: str, *, now: datetime) -> Path:
    """Move ``source`` (a journal, the backup) into the versions folder under a dated name."""
    folder = _folder(state_path)
    try:
        target = _free_name(folder, now, tail)
        os.replace(source, target)
        fsync_directory(folder)
        fsync_directory(source.parent)
    except OSError as exc:
        raise StateError(
            f"cannot move {source} into {folder}: {exc.strerror or exc}",
            hint=f"nothing was lost: {source} is still in place; check the folder's permissions",
        ) from exc
    return target


def set_aside_journal(state_path: Path, journal: Path, base_serial: int, *, now: datetime) -> Path:
    """Move a journal into the versions folder (``<date>-journal-serial-<base>.jsonl``)."""
    return set_aside(state_path, journal, f"journal-serial-{base_serial}.jsonl", now=now)


def prune(state_path: Path, keep: int) -> None:
    """Remove all but the newest ``keep`` versions, and all but the newest ``keep`` journals."""
    doomed = [v.path for v in kept_versions(state_path, read=False)][:-keep]
    doomed += set_aside_journals(state_path)[:-keep]
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if doomed:
        fsync_directory(versions_path(state_path))
