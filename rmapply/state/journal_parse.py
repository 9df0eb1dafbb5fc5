"""Reading a journal's lines: the header and the records, checked in order.

Apart from rmapply.state.journal so that a command that finds no journal (the usual case)
never imports the records' models or builds this module's classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from rmapply.errors import StateCorruptError, StateVersionError

if TYPE_CHECKING:
    from rmapply.state.records import JournalEntry, JournalHeader


@dataclass
class JournalContents:
    """What a journal file holds; ``torn`` says an unfinished last line was ignored."""

    path: Path
    header: JournalHeader | None
    entries: list[JournalEntry] = field(default_factory=list)
    torn: bool = False


def _corrupt(path: Path, line: int, what: str) -> StateCorruptError:
    return StateCorruptError(
        f"journal {path} line {line}: {what}",
        hint="the journal holds changes that are not yet in the state file and was not changed; "
        f"fix or delete line {line} by hand (moving the whole journal aside forgets the changes "
        "it holds; see docs/state.md#recovery)",
    )


def _problem(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"not a journal record ({where + ': ' if where else ''}{first['msg']})"


def _check_order(path: Path, number: int, entry: JournalEntry, open_seqs: set[int]) -> None:
    from rmapply.state.records import IntentRecord, ResultRecord

    if isinstance(entry, IntentRecord):
        if entry.seq in open_seqs:
            raise _corrupt(path, number, f"intent {entry.seq} appears twice")
        open_seqs.add(entry.seq)
    elif isinstance(entry, ResultRecord):
        if entry.seq not in open_seqs:
            raise _corrupt(path, number, f"result {entry.seq} has no open intent before it")
        open_seqs.remove(entry.seq)


def parse_journal(path: Path, data: bytes) -> JournalContents:
    """Parse journal bytes; a last line without its newline is torn and ignored."""
    # the records' models are imported only when there is a journal to read: a plan from a
    # state file alone (the usual case) never needs them
    from rmapply.state.records import ENTRY_ADAPTER, JOURNAL_FORMAT_VERSION, JournalHeader

    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    contents = JournalContents(path=path, header=None, torn=bool(tail.strip(b"\0 \t\r")))
    open_seqs: set[int] = set()
    for number, line in enumerate(lines, start=1):
        if number == 1:
            try:
                contents.header = JournalHeader.model_validate_json(line)
            except ValidationError as exc:
                raise _corrupt(path, 1, "not a journal header") from exc
            if contents.header.format > JOURNAL_FORMAT_VERSION:
                raise StateVersionError(
                    f"journal {path} has format version {contents.header.format}, but this "
                    f"rmapply reads format version {JOURNAL_FORMAT_VERSION} at most",
                    hint="upgrade rmapply to the version that wrote it; the file was not changed",
                )
            continue
        try:
            entry = ENTRY_ADAPTER.validate_json(line)
        except ValidationError as exc:
            raise _corrupt(path, number, _problem(exc)) from exc
        _check_order(path, number, entry, open_seqs)
        contents.entries.append(entry)
    return contents
