"""Where each key and array element of a TOML text starts, which tomllib does not tell."""

from __future__ import annotations

import bisect
import contextlib

PathKey = tuple[str | int, ...]
Position = tuple[int, int]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}\n#")


def toml_positions(text: str) -> dict[PathKey, Position]:
    """``{path: (line, column)}`` (1-based) for every table, key and array element.

    The scanner runs only on text that tomllib already accepted, so it tracks just enough of
    the grammar (strings, inline tables, arrays, array-of-tables indices) to place each key;
    on anything it does not expect it stops and returns what it found so far.
    """
    scanner = _Scanner(text)
    with contextlib.suppress(IndexError, ValueError):
        scanner.run()
    return scanner.positions


def redefinition(text: str) -> tuple[PathKey, Position, Position] | None:
    """The first key or table that ``text`` defines twice: (path, first, second position).

    For a message about text tomllib refused as "Cannot declare ... twice" or "Cannot
    overwrite a value": the scanner reads up to the second definition, which comes before the
    place tomllib stopped.
    """
    scanner = _Scanner(text, stop_at_redefinition=True)
    with contextlib.suppress(IndexError, ValueError, _RedefinedError):
        scanner.run()
    return scanner.redefined


class _RedefinedError(Exception):
    """Stops the scan at the first definition of a path that was already defined."""


class _Scanner:
    def __init__(self, text: str, *, stop_at_redefinition: bool = False) -> None:
        self.text = text
        self.stop_at_redefinition = stop_at_redefinition
        self.i = 0
        self.positions: dict[PathKey, Position] = {}
        self.leaves: dict[PathKey, int] = {}  # path -> index where a key or [table] set it
        self.redefined: tuple[PathKey, Position, Position] | None = None
        self.arrays: dict[PathKey, int] = {}
        self.starts = [0] + [n + 1 for n, c in enumerate(text) if c == "\n"]

    def where(self, index: int) -> Position:
        line = bisect.bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1

    def record(self, path: PathKey, index: int) -> None:
        if path not in self.positions:
            self.positions[path] = self.where(index)

    def define(self, path: PathKey, index: int) -> None:
        if not self.stop_at_redefinition:
            return
        first = self.leaves.setdefault(path, index)
        if first != index:
            self.redefined = (path, self.where(first), self.where(index))
            raise _RedefinedError

    def run(self) -> None:
        table: PathKey = ()
        text = self.text
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(text):
                return
            start = self.i
            if text[self.i] == "[":
                array = text.startswith("[[", self.i)
                self.i += 2 if array else 1
                parts = self.key()
                table = (*self.resolve(parts[:-1]), parts[-1])
                for depth in range(1, len(table) + 1):
                    self.record(table[:depth], start)
                if not array:
                    self.define(table, start)
                if array:
                    index = self.arrays.get(table, -1) + 1
                    self.arrays[table] = index
                    table = (*table, index)
                    self.record(table, start)
                self.skip_line()
                continue
            parts = self.key()
            for depth in range(1, len(parts) + 1):
                self.record(table + tuple(parts[:depth]), start)
            self.define(table + tuple(parts), start)
            self.skip_blank(newlines=False)
            if text[self.i] != "=":
                raise ValueError("expected '='")
            self.i += 1
            self.value(table + tuple(parts))
            self.skip_line()

    def resolve(self, parts: list[str]) -> PathKey:
        """A header's path with the current index of every array of tables in it."""
        out: list[str | int] = []
        for part in parts:
            out.append(part)
            if tuple(out) in self.arrays:
                out.append(self.arrays[tuple(out)])
        return tuple(out)

    def key(self) -> list[str]:
        parts: list[str] = []
        text = self.text
        while True:
            self.skip_blank(newlines=False)
            char = text[self.i]
            if char in "\"'":
                start = self.i
                self.string()
                parts.append(_parsed_string(text[start : self.i]))
            else:
                start = self.i
                while text[self.i] in _BARE:
                    self.i += 1
                if self.i == start:
                    raise ValueError("expected a key")
                parts.append(text[start : self.i])
            self.skip_blank(newlines=False)
            if text[self.i] != ".":
                break
            self.i += 1
        if text.startswith("]]", self.i):
            self.i += 2
        elif text[self.i] == "]":
            self.i += 1
        return parts

    def value(self, path: PathKey) -> None:
        self.skip_blank(newlines=False)
        text = self.text
        char = text[self.i]
        if char in "\"'":
            self.string()
        elif char == "[":
            self.i += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if text[self.i] == "]":
                    self.i += 1
                    return
                self.record((*path, index), self.i)
                self.value((*path, index))
                index += 1
                self.skip_blank(newlines=True)
                if text[self.i] == ",":
                    self.i += 1
        elif char == "{":
            self.i += 1
            while True:
                self.skip_blank(newlines=True)
                if text[self.i] == "}":
                    self.i += 1
                    return
                start = self.i
                parts = self.key()
                for depth in range(1, len(parts) + 1):
                    self.record(path + tuple(parts[:depth]), start)
                self.skip_blank(newlines=False)
                self.i += 1  # '='
                self.value(path + tuple(parts))
                self.skip_blank(newlines=True)
                if text[self.i] == ",":
                    self.i += 1
        else:
            start = self.i
            while self.i < len(text) and text[self.i] not in _SCALAR_END:
                self.i += 1
            if self.i == start:
                raise ValueError("expected a value")

    def string(self) -> None:
        text = self.text
        quote = text[self.i]
        if text.startswith(quote * 3, self.i):
            end = self.i + 3
            while True:
                end = text.index(quote * 3, end)
                if quote == "'" or not _escaped(text, end):
                    break
                end += 1
            # up to two quotes may end the content right before the closing delimiter
            while text.startswith(quote, end + 3):
                end += 1
            self.i = end + 3
            return
        end = self.i + 1
        while True:
            end = text.index(quote, end)
            if quote == "'" or not _escaped(text, end):
                break
            end += 1
        self.i = end + 1

    def skip_blank(self, *, newlines: bool) -> None:
        text = self.text
        blank = " \t\r\n" if newlines else " \t"
        while self.i < len(text):
            char = text[self.i]
            if char in blank:
                self.i += 1
            elif char == "#" and newlines:
                self.skip_line()
            else:
                return

    def skip_line(self) -> None:
        end = self.text.find("\n", self.i)
        self.i = len(self.text) if end < 0 else end + 1


def _escaped(text: str, index: int) -> bool:
    """True when the character at ``index`` follows an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def nearest(positions: dict[PathKey, Position], path: PathKey) -> Position:
    """The position of ``path`` or of its longest known prefix; (0, 0) when none is known."""
    for depth in range(len(path), 0, -1):
        found = positions.get(path[:depth])
        if found:
            return found
    return (0, 0)


def _parsed_string(quoted: str) -> str:
    """The value of a quoted TOML key (escapes and all), as the parser reads it."""
    from rmapply.manifests.parse import toml_parser  # here: parse imports this module

    value: str = toml_parser.loads("k = " + quoted)["k"]
    return value
