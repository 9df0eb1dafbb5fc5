"""Traces of an earlier state: a missing or empty state file is never taken for a new project
while a backup, a kept version or a journal of a written state remains beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rmapply.errors import StateTracesError
from rmapply.state.atomic import Condition, remove_durably, state_condition
from rmapply.state.journal import journal_path, read_journal
from rmapply.state.statefile import backup_path

if TYPE_CHECKING:
    from rmapply.state.journal_parse import JournalContents
    from rmapply.state.versions import StateVersion

# rmapply.state.versions is imported by the functions that look for traces: a present state
# file (the usual case) costs one stat and never imports it


@dataclass(frozen=True)
class StateTraces:
    """The state file's condition and what remains of earlier states beside it."""

    path: Path
    condition: Condition
    backup: StateVersion | None = None
    kept: tuple[StateVersion, ...] = ()
    journal: JournalContents | None = None  # only a journal that extends a written state
    set_aside: tuple[Path, ...] = field(default=())  # journals already in the versions folder

    @property
    def earlier(self) -> bool:
        """True when any trace of a written state remains (lock files never count)."""
        return bool(self.backup or self.kept or self.journal or self.set_aside)

    @property
    def orphaned(self) -> bool:
        """True when the state file is missing or empty while earlier traces remain."""
        return self.condition != "present" and self.earlier

    @property
    def candidates(self) -> list[StateVersion]:
        """The versions a restore can choose from: kept versions, then the backup."""
        return [*self.kept, *([self.backup] if self.backup else [])]

    @property
    def journal_lineage(self) -> str | None:
        """The lineage of the journal beside the state, if any."""
        if self.journal is None or self.journal.header is None:
            return None
        return self.journal.header.lineage

    def newest(self, lineage: str | None = None) -> StateVersion | None:
        """The readable candidate of highest serial (then the latest kept), preferring
        ``lineage`` (else the journal's, else the latest kept one's) when one of it exists."""
        from rmapply.state.versions import BACKUP

        readable = [c for c in self.candidates if c.serial is not None]
        # serials of different lineages do not compare: a state begun with
        # --ignore-previous-state starts again at serial 1 below the one it set aside
        latest = max(readable, key=lambda c: c.kept_at).lineage if readable else None
        wanted = lineage or self.journal_lineage or latest
        same = [c for c in readable if c.lineage == wanted]
        pool = same or readable
        if not pool:
            return None
        # the same serial twice is the same file twice: the backup is the simpler name
        return max(pool, key=lambda c: (c.serial or 0, c.name == BACKUP, c.kept_at))


def _extending_journal(path: Path) -> JournalContents | None:
    """The journal beside ``path`` when it extends a state with serial >= 1, else None."""
    contents = read_journal(journal_path(path))
    if contents is None or contents.header is None or contents.header.base_serial < 1:
        return None  # a first apply killed before its first checkpoint: replayed as usual
    return contents


def find_traces(path: Path) -> StateTraces:
    """Look beside the state file at ``path`` for every trace of an earlier state."""
    from rmapply.state.versions import backup_version, kept_versions, set_aside_journals

    return StateTraces(
        path=path,
        condition=state_condition(path),
        backup=backup_version(path),
        kept=tuple(kept_versions(path)),
        journal=_extending_journal(path),
        set_aside=tuple(set_aside_journals(path)),
    )


def traces_beside(path: Path) -> StateTraces:
    """The state file's condition, with its traces only when it is missing or empty."""
    condition = state_condition(path)
    return StateTraces(path, condition) if condition == "present" else find_traces(path)


def _trace_lines(traces: StateTraces) -> list[str]:
    from rmapply.state.versions import versions_path

    lines: list[str] = []
    if traces.backup is not None:
        lines.append(f"{backup_path(traces.path)}: {traces.backup.describe()}")
    if traces.journal is not None and traces.journal.header is not None:
        header = traces.journal.header
        lines.append(
            f"{traces.journal.path}: {len(traces.journal.entries)} record(s) written after "
            f"serial {header.base_serial} of lineage {header.lineage}"
        )
    folder = versions_path(traces.path)
    lines.extend(f"{folder}/{version.describe()}" for version in traces.kept)
    lines.extend(f"{journal} (a journal set aside)" for journal in traces.set_aside)
    return lines


def _restore_hint(traces: StateTraces, restore_command: str) -> str:
    from rmapply.state.versions import versions_path

    newest = traces.newest()
    if newest is None:
        suggestion = (
            f"no readable state version is kept, so '{restore_command} journal' can only "
            "rebuild the changes of the journal"
        )
    else:
        journal = " and replays the journal onto it" if traces.journal is not None else ""
        suggestion = (
            f"'{restore_command}' restores {newest.name} (serial {newest.serial}, "
            f"{newest.resources} resource{'' if newest.resources == 1 else 's'}){journal}"
        )
    own_copy = ""
    if traces.journal is not None and traces.journal.header is not None:
        own_copy = (
            f"if you have a copy of {traces.path} at serial {traces.journal.header.base_serial} "
            "(version control, a snapshot), put it back first: the journal is replayed onto it; "
        )
    return (
        f"{own_copy}{suggestion}; or run the command again with --ignore-previous-state to "
        "start from an empty state knowingly (the traces are then moved into "
        f"{versions_path(traces.path)}; see docs/state.md#recovery)"
    )


def traces_error(traces: StateTraces, restore_command: str) -> StateTracesError:
    """The refusal of a missing or empty state file beside ``traces``: what, and what next."""
    lines = "".join(f"\n  {line}" for line in _trace_lines(traces))
    return StateTracesError(
        f"state file {traces.path} is {traces.condition}, but traces of an earlier state are "
        f"beside it; nothing was read or changed:{lines}",
        hint=_restore_hint(traces, restore_command),
    )


def starts_empty(path: Path, ignore_previous_state: bool, restore_command: str) -> bool:
    """True when the state at ``path`` starts empty although earlier traces remain (they are
    ignored knowingly); StateTracesError when such traces must not be ignored."""
    condition = state_condition(path)
    if condition == "present":
        return False  # the usual case costs one stat
    traces = find_traces(path)
    if not traces.orphaned:
        return ignore_previous_state and condition == "empty"
    if not ignore_previous_state:
        raise traces_error(traces, restore_command)
    return True


def set_traces_aside(path: Path, *, now: datetime, keep: int) -> None:
    """When starting empty (under the lock): move the journal and the backup into the versions
    folder and drop an empty state file, so that no later write replaces any of them."""
    from rmapply.state.versions import backup_version, prune, set_aside, set_aside_journal

    moment = now.astimezone(UTC)
    journal = read_journal(journal_path(path))
    if journal is not None:
        base = journal.header.base_serial if journal.header is not None else 0
        set_aside_journal(path, journal.path, base, now=moment)
    backup = backup_version(path)
    if backup is not None:
        tail = f"serial-{backup.serial}.json" if backup.serial is not None else "unreadable.json"
        set_aside(path, backup.path, tail, now=moment)
    if state_condition(path) == "empty":
        remove_durably(path)
    prune(path, keep)
