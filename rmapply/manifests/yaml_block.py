"""A fast path for the common shape of YAML manifests: plain block mappings and sequences.

libyaml composes a node object (with two marks) per value and calls PyYAML's Python resolver
for each scalar: for 10,000 templated jobs that is most of the load and about 100 MB. Most
manifests use a small part of YAML (block mappings and sequences, one-line plain or quoted
scalars, one-line flow sequences of scalars), which this module reads line by line, resolving
each plain scalar once with PyYAML's own resolver and constructors.

It never guesses: anything outside that shape (anchors, tags, block scalars, flow mappings,
multi-line scalars, several documents, duplicate keys, odd indentation, tabs, non-printable
characters, keys that are not plain strings) returns None and the full parser reads the
text, so both paths always give the same data (a property test compares them).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

_STR = "tag:yaml.org,2002:str"
_SCALARS = {
    "tag:yaml.org,2002:" + kind: getattr(SafeConstructor, f"construct_yaml_{kind}")
    for kind in ("int", "float", "bool", "null")
}
# Anything the reader would refuse or treat as a line break, and tabs (indentation rules).
_AWKWARD = re.compile(
    "[^\n -~\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_DOCUMENT_MARK = re.compile(r"^(---|\.\.\.|%)", re.MULTILINE)
# ``key:`` then a space or the end of the line; keys are plain words, nothing YAML-special.
_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}):(?: +|$)")
# A plain scalar cannot start with an indicator (a dash only when a space follows).
_PLAIN_START = frozenset("?:,[]{}#&*!|>'\"%@`")
_ESCAPES = {
    "0": "\0",
    "a": "\x07",
    "b": "\x08",
    "t": "\t",
    "n": "\n",
    "v": "\x0b",
    "f": "\x0c",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_NO_VALUE: Any = object()  # a key or dash with nothing after it on its line
_EMPTY: Any = object()  # the value ``{}``


class _UnsupportedError(Exception):
    """The text leaves the shape this module reads; the full parser takes it."""


def parse_block(
    text: str, max_depth: int, resource_kinds: tuple[str, ...]
) -> tuple[dict[str, Any], dict[tuple[str, str], int]] | None:
    """``(data, {(kind, key): line})`` of a one-document block-YAML text, or None."""
    if _AWKWARD.search(text) or _DOCUMENT_MARK.search(text):
        return None
    try:
        reader = _Reader(text, max_depth)
        data = reader.document()
    except (_UnsupportedError, ValueError, TypeError, OverflowError, yaml.YAMLError):
        return None
    lines: dict[tuple[str, str], int] = {}
    for kind in resource_kinds:
        table = data.get(kind)
        for key, line in reader.key_lines.get(id(table), {}).items():
            lines[(kind, key)] = line
    return data, lines


class _Reader:
    """Tokens (one per line, two for ``- key: value``), then recursive descent over them."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.max_depth = max_depth
        self.resolver = Resolver()
        self.constructor = SafeConstructor()
        self.resolved: dict[str, Any] = {}  # plain scalar -> value
        self.values: dict[str, Any] = {}  # value text as written -> value (a tuple for [..])
        self.key_lines: dict[int, dict[str, int]] = {}  # id(root tables) -> key -> line
        # (indent, line, key or None for a dash, raw value text or _NO_VALUE)
        self.tokens: list[tuple[int, int, str | None, Any]] = []
        self._tokenize(text)
        self.i = 0

    def _tokenize(self, text: str) -> None:
        append = self.tokens.append
        key_match = _KEY.match
        for number, line in enumerate(text.split("\n"), start=1):
            content = line.lstrip(" ")
            if not content or content[0] == "#":
                continue
            indent = len(line) - len(content)
            while content[0] == "-" and (len(content) == 1 or content[1] == " "):
                rest = content[1:].lstrip(" ")
                if not rest or rest[0] == "#":
                    append((indent, number, None, _NO_VALUE))
                    content = ""
                    break
                if rest[0] == "-" and (len(rest) == 1 or rest[1] == " "):
                    raise _UnsupportedError  # "- - x": nested compact sequences
                matched = key_match(rest)
                if matched is None:
                    append((indent, number, None, rest))
                    content = ""
                    break
                append((indent, number, None, _NO_VALUE))
                indent += len(content) - len(rest)
                content = rest
            if not content:
                continue
            matched = key_match(content)
            if matched is None:
                raise _UnsupportedError  # a continuation line, a quoted or complex key, ...
            value = content[matched.end() :]
            append((indent, number, matched[1], value if value and value[0] != "#" else _NO_VALUE))

    def document(self) -> dict[str, Any]:
        if not self.tokens or self.tokens[0][0] != 0 or self.tokens[0][2] is None:
            raise _UnsupportedError  # not a mapping at the left margin
        data = self._mapping(0, 1)
        if self.i != len(self.tokens):
            raise _UnsupportedError
        return data

    def _block(self, parent_indent: int, depth: int) -> Any:
        """The block that starts at the current token (more indented than its parent)."""
        if depth > self.max_depth:
            raise _UnsupportedError  # the full parser reports the nesting
        indent, _, key, _ = self.tokens[self.i]
        if indent <= parent_indent:
            raise _UnsupportedError
        return self._mapping(indent, depth) if key is not None else self._sequence(indent, depth)

    def _mapping(self, indent: int, depth: int) -> dict[str, Any]:
        tokens = self.tokens
        count = len(tokens)
        resolved = self.resolved
        mapping: dict[str, Any] = {}
        lines: dict[str, int] | None = {} if depth <= 2 else None
        i = self.i
        while i < count:
            at, number, key, raw = tokens[i]
            if at < indent:
                break
            if at > indent or key is None:
                raise _UnsupportedError
            name = resolved.get(key, _NO_VALUE)
            if name is _NO_VALUE:
                name = self._scalar(key)
            if name.__class__ is not str or name in mapping:
                raise _UnsupportedError  # non-text keys (yes:, 1:) and duplicates: full parser
            i += 1
            if raw is not _NO_VALUE:
                if depth >= self.max_depth and raw[0] in "[{":
                    raise _UnsupportedError  # the full parser reports the nesting
                value = self._value(raw)
            elif i < count and tokens[i][0] > indent:
                self.i = i
                value = self._block(indent, depth + 1)
                i = self.i
            elif i < count and tokens[i][0] == indent and tokens[i][2] is None:
                self.i = i
                value = self._sequence(indent, depth + 1)  # "key:\n- item" at the key's indent
                i = self.i
            else:
                value = None
            mapping[name] = value
            if lines is not None:
                lines[name] = number
        self.i = i
        if lines is not None:
            self.key_lines[id(mapping)] = lines
        return mapping

    def _sequence(self, indent: int, depth: int) -> list[Any]:
        if depth > self.max_depth:
            raise _UnsupportedError
        tokens = self.tokens
        items: list[Any] = []
        while self.i < len(tokens):
            at, _, key, raw = tokens[self.i]
            if at != indent or key is not None:
                if at > indent:
                    raise _UnsupportedError
                break  # the parent decides (a mapping at this indent continues after it)
            self.i += 1
            if raw is not _NO_VALUE:
                if depth >= self.max_depth and raw[0] in "[{":
                    raise _UnsupportedError
                items.append(self._value(raw))
            elif self.i < len(tokens) and tokens[self.i][0] > indent:
                items.append(self._block(indent, depth + 1))
            else:
                items.append(None)
        return items

    def _scalar(self, plain: str) -> Any:
        """A plain scalar as PyYAML's resolver and constructors make it (once per text)."""
        found = self.resolved.get(plain, _NO_VALUE)
        if found is _NO_VALUE:
            tag = self.resolver.resolve(  # type: ignore[no-untyped-call]
                yaml.ScalarNode, plain, (True, False)
            )
            if tag == _STR:
                found = plain
            elif tag in _SCALARS:
                found = _SCALARS[tag](self.constructor, yaml.ScalarNode(tag, plain))
            else:
                raise _UnsupportedError  # timestamps and the like: the full parser's job
            self.resolved[plain] = found
        return found

    def _value(self, raw: str) -> Any:
        """The value written after ``key: `` or ``- `` (comments and trailing spaces dropped)."""
        found = self.values.get(raw, _NO_VALUE)
        if found is _NO_VALUE:
            found = self.values[raw] = self._read_value(raw)
        # A flow sequence is kept as a tuple, an empty mapping as _EMPTY: every use gets its
        # own list or dict.
        if found.__class__ is tuple:
            return list(found)
        return {} if found is _EMPTY else found

    def _read_value(self, raw: str) -> Any:
        first = raw[0]
        value: Any
        if first == '"':
            value, end = _double_quoted(raw, 1)
        elif first == "'":
            value, end = _single_quoted(raw, 1)
        elif first == "[":
            items, end = self._flow_sequence(raw)
            value = tuple(items)
        elif raw.startswith("{}"):  # what yaml.safe_dump writes for an empty mapping
            value, end = _EMPTY, 2
        else:
            return self._scalar(_plain(raw))
        rest = raw[end:].lstrip(" ")
        if rest and rest[0] != "#":
            raise _UnsupportedError
        if rest and end == len(raw) - len(rest):  # '#' right after the value is not a comment
            raise _UnsupportedError
        return value

    def _flow_sequence(self, raw: str) -> tuple[list[Any], int]:
        """``[a, "b", 'c']`` on one line: scalars only."""
        items: list[Any] = []
        position = 1
        while True:
            while position < len(raw) and raw[position] == " ":
                position += 1
            if position >= len(raw):
                raise _UnsupportedError  # continues on the next line
            char = raw[position]
            if char == "]" and not items:
                return items, position + 1
            if char == '"':
                item, position = _double_quoted(raw, position + 1)
            elif char == "'":
                item, position = _single_quoted(raw, position + 1)
            else:
                end = position
                while end < len(raw) and raw[end] not in ",]":
                    end += 1
                text = raw[position:end].rstrip(" ")
                if not text or any(c in text for c in "[]{}#:\"'") or text[0] in _PLAIN_START:
                    raise _UnsupportedError
                if text[0] == "-" and (len(text) == 1 or text[1] == " "):
                    raise _UnsupportedError
                item, position = self._scalar(text), end
            items.append(item)
            while position < len(raw) and raw[position] == " ":
                position += 1
            if position >= len(raw):
                raise _UnsupportedError
            if raw[position] == "]":
                return items, position + 1
            if raw[position] != ",":
                raise _UnsupportedError
            position += 1
            # "[a, ]" is valid YAML, but rare enough to leave to the full parser
            while position < len(raw) and raw[position] == " ":
                position += 1
            if position < len(raw) and raw[position] == "]":
                raise _UnsupportedError


def _plain(raw: str) -> str:
    """A one-line plain scalar in block context, or _UnsupportedError when it is not one."""
    first = raw[0]
    if first in _PLAIN_START or (first == "-" and (len(raw) == 1 or raw[1] == " ")):
        raise _UnsupportedError
    comment = raw.find(" #")
    text = (raw if comment < 0 else raw[:comment]).rstrip(" ")
    if ": " in text or text.endswith(":"):
        raise _UnsupportedError  # an error in YAML; the full parser says so
    return text


def _double_quoted(raw: str, start: int) -> tuple[str, int]:
    """The text of ``"..."`` that starts before ``start``, and the index after its quote."""
    end = raw.find('"', start)
    if end < 0:
        raise _UnsupportedError  # continues on the next line
    if "\\" not in raw[start:end]:
        return raw[start:end], end + 1
    out: list[str] = []
    position = start
    while True:
        if position >= len(raw):
            raise _UnsupportedError
        char = raw[position]
        if char == '"':
            return "".join(out), position + 1
        if char != "\\":
            out.append(char)
            position += 1
            continue
        if position + 1 >= len(raw):
            raise _UnsupportedError  # a line break escape
        code = raw[position + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            position += 2
        elif code in _HEX_ESCAPES:
            digits = raw[position + 2 : position + 2 + _HEX_ESCAPES[code]]
            if len(digits) != _HEX_ESCAPES[code] or not all(
                c in "0123456789abcdefABCDEF" for c in digits
            ):
                raise _UnsupportedError
            code_point = int(digits, 16)
            if 0xD800 <= code_point <= 0xDFFF or code_point > 0x10FFFF:
                raise _UnsupportedError  # libyaml refuses these
            out.append(chr(code_point))
            position += 2 + len(digits)
        else:
            raise _UnsupportedError


def _single_quoted(raw: str, start: int) -> tuple[str, int]:
    """The text of ``'...'`` (``''`` is one quote) and the index after its closing quote."""
    out: list[str] = []
    position = start
    while True:
        end = raw.find("'", position)
        if end < 0:
            raise _UnsupportedError
        out.append(raw[position:end])
        if raw.startswith("''", end):
            out.append("'")
            position = end + 2
            continue
        return "".join(out), end + 1
