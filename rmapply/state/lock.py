"""The state lock: an OS-level exclusive lock (freed when its process dies) plus who holds it."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock

from rmapply.errors import StateError, StateLockedError
from rmapply.state.atomic import FILE_MODE, replace_atomically


def lock_path(state_path: Path) -> Path:
    """The file the OS lock is taken on (it stays in place; its presence means nothing)."""
    return state_path.with_name(state_path.name + ".lock")


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
        self.state_path = state_path
        # thread_local=False: apply's worker threads share the one hold of the process
        self._lock = filelock.FileLock(
            lock_path(state_path), mode=FILE_MODE, thread_local=False, fallback_to_soft=False
        )
        self.holder: LockHolder | None = None

    def acquire(self, command: str, *, timeout: float = 0.0, now: datetime | None = None) -> None:
        """Take the lock or raise StateLockedError naming the holder."""
        try:
            if timeout > 0:
                self._lock.acquire(timeout=timeout, poll_interval=0.05)
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
        holder = LockHolder.current(command, now)
        try:
            data = json.dumps(holder.to_dict(), indent=2).encode("utf-8") + b"\n"
            replace_atomically(holder_path(self.state_path), data)
        except OSError as exc:
            self._lock.release()
            raise StateError(
                f"cannot write {holder_path(self.state_path)}: {exc.strerror or exc}",
                hint="check the folder's permissions",
            ) from exc
        self.holder = holder

    def release(self) -> None:
        """Drop the holder file, then the lock (the OS drops it anyway if the process dies)."""
        if self.holder is None:
            return
        self.holder = None
        with contextlib.suppress(OSError):
            holder_path(self.state_path).unlink()
        self._lock.release()

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
