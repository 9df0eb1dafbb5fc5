"""The state lock: an OS-level exclusive lock (freed when its process dies) plus who holds it."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rmapply.errors import StateError, StateLockedError
from rmapply.state.atomic import FILE_MODE, replace_atomically

# a lock file deleted or replaced between our open and our flock is taken again at its new
# inode; a path replaced this many times in a row is someone's doing, not a race
_RELOCK_ATTEMPTS = 5

FileIdentity = tuple[int, int]  # (st_dev, st_ino): the same file, whatever its name


def lock_path(state_path: Path) -> Path:
    """The file the OS lock is taken on; it must stay in place (never delete it)."""
    return state_path.with_name(state_path.name + ".lock")


def identity_at(path: Path) -> FileIdentity | None:
    """The identity of the file at ``path`` now, or None when there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_dev, found.st_ino)


def identity_of(fd: int) -> FileIdentity | None:
    """The identity of the open file ``fd``, or None when it was unlinked (no name left)."""
    found = os.fstat(fd)
    return None if found.st_nlink == 0 else (found.st_dev, found.st_ino)


def lock_lost_error(state_path: Path) -> StateError:
    """The error of a holder whose lock file was deleted or replaced under it."""
    return StateError(
        f"the lock file {lock_path(state_path)} was deleted or replaced while this command held "
        "it, so another rmapply may now be writing state file "
        f"{state_path}; stopped before sending anything more",
        hint="never delete the lock file (see docs/state.md#lock); let any other rmapply on "
        "this state finish, then run the command again: the calls made so far are in the "
        "journal or are settled from the service by the next plan",
    )


def holder_path(state_path: Path) -> Path:
    """The small JSON file that says who holds the lock."""
    return state_path.with_name(state_path.name + ".lock.info")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "unknown"


@dataclass(frozen=True)
class LockHolder:
    """Who holds the state lock: process, host, user, command and since when."""

    pid: int
    host: str
    user: str
    command: str
    since: str  # ISO 8601, UTC

    @classmethod
    def current(cls, command: str, now: datetime | None = None) -> LockHolder:
        """This process, running ``command``."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            user=_user(),
            command=command,
            since=moment.isoformat().replace("+00:00", "Z"),
        )

    def describe(self) -> str:
        """``pid 4242 on build-7 (user alice, command 'apply', since 2024-06-01T12:00:00Z)``."""
        return (
            f"pid {self.pid} on {self.host} (user {self.user}, command {self.command!r}, "
            f"since {self.since})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for StateLockedError.holder and JSON output."""
        return asdict(self)


def read_holder(state_path: Path) -> LockHolder | None:
    """The holder recorded next to the lock, if readable (it may be stale if no one holds it)."""
    try:
        raw = json.loads(holder_path(state_path).read_bytes())
        return LockHolder(
            pid=int(raw["pid"]),
            host=str(raw["host"]),
            user=str(raw["user"]),
            command=str(raw["command"]),
            since=str(raw["since"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class StateLock:
    """Exclusive writer lock on one state file; ``acquire`` fails at once or after ``timeout``."""

    def __init__(self, state_path: Path) -> None:
        import filelock  # here: a plan that reads the state never locks it, nor imports filelock

        self.state_path = state_path
        # thread_local=False: apply's worker threads share the one hold of the process
        self._lock = filelock.FileLock(
            lock_path(state_path), mode=FILE_MODE, thread_local=False, fallback_to_soft=False
        )
        self.holder: LockHolder | None = None
        self.identity: FileIdentity | None = None  # of the file locked, while held

    def acquire(self, command: str, *, timeout: float = 0.0, now: datetime | None = None) -> None:
        """Take the lock or raise StateLockedError naming the holder.

        The lock counts only on the file that is at the lock path: a file deleted or replaced
        meanwhile (its old holder still has it open) is let go, and the new one is locked.
        """
        deadline = time.monotonic() + timeout
        for _ in range(_RELOCK_ATTEMPTS):
            self._take(timeout, max(0.0, deadline - time.monotonic()))
            locked = self._locked_identity()
            if locked is not None and locked == identity_at(lock_path(self.state_path)):
                self.identity = locked
                break
            self._lock.release()
        else:
            raise StateError(
                f"cannot lock state file {self.state_path}: its lock file "
                f"{lock_path(self.state_path)} was deleted or replaced {_RELOCK_ATTEMPTS} times "
                "while this command was taking it",
                hint="find the program that deletes the lock file and stop it; the lock file "
                "must stay in place (see docs/state.md#lock)",
            )
        holder = LockHolder.current(command, now)
        try:
            data = json.dumps(holder.to_dict(), indent=2).encode("utf-8") + b"\n"
            replace_atomically(holder_path(self.state_path), data)
        except OSError as exc:
            self.identity = None
            self._lock.release()
            raise StateError(
                f"cannot write {holder_path(self.state_path)}: {exc.strerror or exc}",
                hint="check the folder's permissions",
            ) from exc
        self.holder = holder

    def check_held(self) -> None:
        """Raise StateError unless the file at the lock path is still the one this lock holds.

        Writers call it around every write, so a holder whose lock file was deleted (and maybe
        created again by another rmapply, which then holds that one) stops writing.
        """
        if self.identity is None or identity_at(lock_path(self.state_path)) != self.identity:
            raise lock_lost_error(self.state_path)

    def release(self) -> None:
        """Drop the holder file, then the lock (the OS drops it anyway if the process dies)."""
        if self.holder is None:
            return
        self.holder = None
        still_ours = identity_at(lock_path(self.state_path)) == self.identity
        self.identity = None
        if still_ours:  # else the holder file is another rmapply's, which holds the new lock file
            with contextlib.suppress(OSError):
                holder_path(self.state_path).unlink()
        self._lock.release()

    def _take(self, timeout: float, remaining: float) -> None:
        """One flock on the file at the lock path (opened or created now)."""
        import filelock

        try:
            if timeout > 0:
                self._lock.acquire(timeout=remaining, poll_interval=0.05)
            else:
                self._lock.acquire(blocking=False)
        except filelock.Timeout as exc:
            raise self._locked_error(timeout) from exc
        except OSError as exc:
            raise StateError(
                f"cannot lock state file {self.state_path}: {exc.strerror or exc}",
                hint=f"check that {lock_path(self.state_path)} can be created and written, and "
                "that the file system supports locks (flock)",
            ) from exc

    def _locked_identity(self) -> FileIdentity | None:
        """The identity of the file filelock holds open and locked (None: unlinked)."""
        fd = getattr(getattr(self._lock, "_context", None), "lock_file_fd", None)
        if not isinstance(fd, int):  # filelock keeps the descriptor here since 3.10
            return identity_at(lock_path(self.state_path))
        return identity_of(fd)

    def _locked_error(self, timeout: float) -> StateLockedError:
        holder = read_holder(self.state_path)
        who = holder.describe() if holder else "another process (its holder file is missing)"
        waited = f"; gave up after waiting {timeout:g} s" if timeout > 0 else ""
        return StateLockedError(
            f"state file {self.state_path} is locked by {who}{waited}",
            holder=holder.to_dict() if holder else None,
            hint="wait for that command to finish, or let this one wait with --lock-timeout "
            "SECONDS; the lock is freed by the OS as soon as that process ends (see "
            "docs/state.md#lock)",
        )
