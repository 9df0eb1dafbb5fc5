"""``state restore``: write a kept version (or the backup) back as a new serial of its lineage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rmapply import __version__
from rmapply.errors import StateCorruptError, StateError
from rmapply.state.atomic import read_if_present, remove_durably, remove_leftovers
from rmapply.state.document import StateDocument
from rmapply.state.journal import journal_path, read_journal
from rmapply.state.journal_parse import JournalContents
from rmapply.state.lock import StateLock
from rmapply.state.replay import replay
from rmapply.state.statefile import decode_state, encode_state, write_state
from rmapply.state.traces import StateTraces, find_traces
from rmapply.state.versions import BACKUP, StateVersion, keep_version, prune, set_aside_journal

JOURNAL = "journal"  # restore the changes of a journal alone, when no version of its state is kept


@dataclass(frozen=True)
class Restored:
    """What ``state restore`` did."""

    source: str  # the version's name, "backup" or "journal"
    source_serial: int
    serial: int  # the serial it was written as
    lineage: str
    resources: int
    pending: int
    replayed: int  # journal records folded onto it
    kept: Path | None  # where the replaced state file was kept
    journal_set_aside: Path | None
    gap: tuple[int, int] | None  # (from, to): serials whose changes no trace holds


@dataclass(frozen=True)
class _Current:
    data: bytes | None  # None: missing
    document: StateDocument | None  # None: missing, empty or unreadable


def _read_current(path: Path) -> _Current:
    data = read_if_present(path, "state file")
    if not data:
        return _Current(data, None)
    try:
        return _Current(data, decode_state(path, data))
    except StateCorruptError:
        return _Current(data, None)  # kept among the versions as it is, then replaced


def _available(traces: StateTraces) -> str:
    names = [c.name for c in traces.candidates]
    return ", ".join(names) if names else "none"


def choose(traces: StateTraces, wanted: str | None) -> StateVersion | None:
    """The version named ``wanted`` (a name, ``backup``, or a serial), or the newest for None;
    None means the journal alone."""
    import difflib  # here, not at the top: start-up never needs it

    if wanted == JOURNAL:
        if traces.journal is None:
            raise StateError(
                f"there is no journal beside {traces.path} that extends a written state",
                hint="run 'rmapply state versions' to see what can be restored",
            )
        return None
    candidates = traces.candidates
    if wanted is None:
        newest = traces.newest()
        if newest is None:
            hint = "run 'rmapply state versions'"
            if traces.journal is not None:
                hint = f"'rmapply state restore {JOURNAL}' rebuilds the changes of the journal"
            raise StateError(f"no readable state version is kept beside {traces.path}", hint=hint)
        return newest
    # a path copied from a message names the same version: its file name is what counts
    name = Path(wanted).name.removesuffix(".json")
    if name == f"{traces.path.name}.{BACKUP}":
        name = BACKUP
    found = [c for c in candidates if c.name == name]
    if not found and wanted.isdigit():
        found = [c for c in candidates if c.serial == int(wanted)]
    if len(found) > 1:
        raise StateError(
            f"{len(found)} kept versions have serial {wanted}: " + ", ".join(c.name for c in found),
            hint="name the one to restore (see 'rmapply state versions')",
        )
    if not found:
        close = difflib.get_close_matches(name, [c.name for c in candidates], n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise StateError(
            f"no kept state version {wanted!r} beside {traces.path} (kept: {_available(traces)})",
            hint=f"{guess}run 'rmapply state versions' to see them",
        )
    version = found[0]
    if version.problem is not None:
        raise StateError(
            f"state version {version.name} cannot be restored: {version.problem}",
            hint="choose another one (see 'rmapply state versions')",
        )
    return version


def _source_document(traces: StateTraces, version: StateVersion | None) -> StateDocument:
    if version is None:
        assert traces.journal is not None and traces.journal.header is not None
        header = traces.journal.header
        return StateDocument(lineage=header.lineage, serial=header.base_serial)
    data = read_if_present(version.path, "state version")
    if data is None:
        raise StateError(f"state version {version.path} disappeared while being restored")
    return decode_state(version.path, data)


def _check_lineage(
    name: str, document: StateDocument, reference: str | None, allow_other_lineage: bool
) -> None:
    if reference is None or document.lineage == reference or allow_other_lineage:
        return
    raise StateError(
        f"state version {name} belongs to another state (lineage {document.lineage}); "
        f"the state here has lineage {reference}; nothing was changed",
        hint="choose a version of this lineage (see 'rmapply state versions'), or pass "
        "--allow-other-lineage if you do mean to bring that other state back",
    )


def _highest_serial(traces: StateTraces, current: _Current) -> int:
    serials = [c.serial for c in traces.candidates if c.serial is not None]
    if current.document is not None:
        serials.append(current.document.serial)
    if traces.journal is not None and traces.journal.header is not None:
        serials.append(traces.journal.header.base_serial)
    return max(serials, default=0)


def _same_lineage(journal: JournalContents | None, lineage: str) -> JournalContents | None:
    if journal is None or journal.header is None or journal.header.lineage != lineage:
        return None
    return journal


def _fold(document: StateDocument, journal: JournalContents | None) -> int:
    """Replay ``journal`` onto ``document``; how many records it held (0 without one)."""
    if journal is None or journal.header is None:
        return 0
    replay(document, journal.entries, results_folded=journal.header.base_serial < document.serial)
    return len(journal.entries)


def restore_state(
    path: Path,
    wanted: str | None,
    *,
    allow_other_lineage: bool,
    keep: int,
    now: datetime,
) -> Restored:
    """Write the chosen version back as serial = highest seen + 1 (call under the lock).

    The current file is kept as a version first (with its journal folded in when it reads);
    a journal that extends no readable file is folded onto the restored version instead.
    """
    remove_leftovers(path)
    current = _read_current(path)
    traces = find_traces(path)
    journal = read_journal(journal_path(path))  # any journal, also one of a first apply
    version = choose(traces, wanted)
    document = _source_document(traces, version)
    name = version.name if version is not None else JOURNAL
    reference = current.document.lineage if current.document is not None else None
    if reference is None and journal is not None and journal.header is not None:
        reference = journal.header.lineage
    _check_lineage(name, document, reference, allow_other_lineage)
    serial = _highest_serial(traces, current) + 1
    source_serial = document.serial
    replayed = 0
    gap: tuple[int, int] | None = None
    kept: Path | None
    if current.document is not None:
        replaced = current.document  # the journal extends it: kept with it
        _fold(replaced, _same_lineage(journal, replaced.lineage))
        kept = keep_version(path, encode_state(replaced), replaced.serial, now=now, keep=keep)
    else:
        # unreadable: kept exactly as found; missing or empty: nothing to keep
        kept = keep_version(path, current.data, None, now=now, keep=keep) if current.data else None
        extending = _same_lineage(journal, document.lineage)
        replayed = _fold(document, extending)
        base = extending.header.base_serial if extending and extending.header else source_serial
        if base > source_serial:
            gap = (source_serial, base)
        if current.data is not None:
            remove_durably(path)  # so that the backup does not become this file
    document.serial = serial
    document.rmapply_version = __version__
    write_state(path, document)
    aside: Path | None = None
    if journal is not None:
        base = journal.header.base_serial if journal.header is not None else 0
        aside = set_aside_journal(path, journal.path, base, now=now)
    prune(path, keep)
    return Restored(
        source=name,
        source_serial=source_serial,
        serial=serial,
        lineage=document.lineage,
        resources=len(document.resources),
        pending=len(document.pending),
        replayed=replayed,
        kept=kept,
        journal_set_aside=aside,
        gap=gap,
    )


def restore_locked(
    path: Path,
    wanted: str | None,
    *,
    command: str,
    timeout: float,
    allow_other_lineage: bool,
    keep: int,
    now: datetime,
) -> Restored:
    """``restore_state`` holding the state lock (StateLockedError if another holds it)."""
    state_lock = StateLock(path)
    state_lock.acquire(command, timeout=timeout, now=now)
    try:
        return restore_state(
            path, wanted, allow_other_lineage=allow_other_lineage, keep=keep, now=now
        )
    finally:
        state_lock.release()
