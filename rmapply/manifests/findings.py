"""Findings: problems located by file, document and field path, placed on a line later."""

from __future__ import annotations

from typing import NamedTuple

PathPart = str | int


# a named tuple: built at import for a third of a dataclass's cost
class Finding(NamedTuple):
    """A problem before it has a line: where (file, document, path) and what."""

    file: str
    path: tuple[PathPart, ...]
    message: str
    document: int = 0
    severity: str = "error"
    line: int = 0  # known already (e.g. the resource's own line), else found from the path
    column: int = 0
