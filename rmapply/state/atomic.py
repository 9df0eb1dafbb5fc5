"""Atomic file replacement: a temporary file in the same folder, fsync, rename, fsync the folder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Literal

from rmapply.errors import StateError

FILE_MODE = 0o600


def fsync_directory(folder: Path) -> None:
    """Make renames and unlinks inside ``folder`` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # Windows cannot open a folder; its renames are already durable enough
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_temporary(folder: Path, prefix: str, data: bytes, *, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to a new fsynced file in ``folder`` with ``mode``; returns its path."""
    import tempfile  # here, not at the top: start-up never needs it

    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    temporary = Path(name)
    try:
        if hasattr(os, "fchmod"):  # POSIX; mkstemp already made it 0600 elsewhere
            os.fchmod(fd, mode)
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    return temporary


def _keep_previous(path: Path, folder: Path) -> Path | None:
    """A second name for the current ``path`` (hard link, else a copy), or None if there is none."""
    if not path.exists():
        return None
    staged = folder / f".{path.name}.backup-{os.getpid()}-{os.urandom(4).hex()}.tmp"
    try:
        # a hard link costs nothing and is the very file that was there: no copy can differ
        os.link(path, staged)
    except OSError:
        return write_temporary(folder, f".{path.name}.backup-", path.read_bytes())
    return staged


def replace_atomically(path: Path, data: bytes, *, backup: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    With ``backup``, the file being replaced becomes ``backup``; the old backup is replaced only
    after the new file is in place, so a failure at any step never loses the backup.
    """
    folder = path.parent
    temporary = write_temporary(folder, f".{path.name}.", data)
    previous: Path | None = None
    try:
        if backup is not None:
            previous = _keep_previous(path, folder)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        if previous is not None:
            previous.unlink(missing_ok=True)
        raise
    if previous is not None and backup is not None:
        try:
            os.replace(previous, backup)
        except BaseException:
            with contextlib.suppress(OSError):
                previous.unlink()
            raise
    fsync_directory(folder)


def remove_durably(path: Path) -> None:
    """Unlink ``path`` (if present) and make the removal durable."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_directory(path.parent)


def remove_leftovers(path: Path) -> None:
    """Remove temporary files a crash may have left next to ``path`` (never the file or backup)."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def read_if_present(path: Path, what: str) -> bytes | None:
    """The bytes of ``path``, None when it does not exist; StateError naming ``what`` otherwise."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(
            f"cannot read {what} {path}: {exc.strerror or exc}",
            hint="check that the file is readable by you",
        ) from exc


Condition = Literal["present", "missing", "empty"]


def state_condition(path: Path) -> Condition:
    """``present``, ``missing``, or ``empty`` (zero bytes) for the state file at ``path``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    return "present" if size > 0 else "empty"
