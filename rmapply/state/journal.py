"""The journal beside the state file: JSON lines, each appended and fsynced (O(1) per record).

Where it is and how it is read; the parsing is in rmapply.state.journal_parse and the writer in
rmapply.state.journal_writer, each imported only when there is a journal to read or to write.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rmapply.state.atomic import read_if_present

if TYPE_CHECKING:
    from rmapply.state.journal_parse import JournalContents
    from rmapply.state.records import JournalEntry, JournalHeader


def journal_path(state_path: Path) -> Path:
    """``<state path>.journal``."""
    return state_path.with_name(state_path.name + ".journal")


def read_journal(path: Path) -> JournalContents | None:
    """The journal at ``path``, or None when there is none."""
    data = read_if_present(path, "journal")
    if data is None:
        return None
    from rmapply.state.journal_parse import parse_journal  # only when there is one

    return parse_journal(path, data)


def _line(record: JournalHeader | JournalEntry) -> bytes:
    return record.model_dump_json().encode("utf-8") + b"\n"
