"""Parsing: rendered TOML or YAML text into documents, with the line of every resource."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rmapply.errors import ManifestProblem
from rmapply.manifests.limits import MAX_DEPTH, MAX_DOCUMENTS, MAX_EXPANDED_NODES
from rmapply.manifests.toml_positions import PathKey, Position, redefinition, toml_positions
from rmapply.plain_record import PlainRecord
from rmapply.wire.paths import field_path as format_path

if TYPE_CHECKING:
    import yaml

    from rmapply.manifests.yaml_data import DuplicateKey

    YamlLoader: Any

__all__ = ["Document", "Parsed", "inspect_data", "parse_data", "parse_manifest", "toml_parser"]

try:  # the same parser as tomllib, compiled with mypyc: about three times faster
    import tomli as toml_parser
except ImportError:  # pragma: no cover - tomllib is the reference fallback
    import tomllib as toml_parser  # type: ignore[no-redef]

RESOURCE_KINDS = ("workspaces", "jobs")
_HEADER_BODY = (
    r"""[ \t]*\[\[?[ \t]*(jobs|workspaces)[ \t]*\.[ \t]*"""
    r"""(?:"([^"\\\n]*)"|'([^'\n]*)'|([A-Za-z0-9_-]+))"""
)


# A header on the first line, and one after a newline: the literal "\n" lets the regex
# engine skip ahead (three times faster than ``^`` with MULTILINE, which it tries at every
# character). No part of a header matches a newline, so the two find the same headers.
# Compiled on first use: a plan whose manifests are all cached never looks for a header.
@functools.cache
def _toml_header_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    return re.compile(_HEADER_BODY), re.compile("\n" + _HEADER_BODY)


def _yaml_loader() -> Any:
    """PyYAML's safe loader, the C one where PyYAML has it. PyYAML is imported only when YAML
    is read, so a TOML project (and a manifest cache hit) never pays for importing it."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def __getattr__(name: str) -> Any:
    """``YamlLoader``, imported on first use (see ``_yaml_loader``)."""
    if name == "YamlLoader":
        return _yaml_loader()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Document and Parsed are written out as @dataclass would make them (PlainRecord: every plan
# imports them).
class Document(PlainRecord):
    """One parsed document: its data and the rendered line of each resource key."""

    _FIELDS = ("data", "index", "lines", "json_safe", "checked")
    data: Any
    index: int
    lines: dict[tuple[str, str], int]
    json_safe: bool  # only str keys and JSON scalars: the cache may store it
    checked: bool  # depth and json_safe already known (the fast YAML path)

    def __init__(
        self,
        data: Any,
        index: int = 0,
        lines: dict[tuple[str, str], int] | None = None,
        json_safe: bool = True,
        checked: bool = False,
    ) -> None:
        self.data = data
        self.index = index
        self.lines = {} if lines is None else lines
        self.json_safe = json_safe
        self.checked = checked


class Parsed(PlainRecord):
    """The documents of one file and its syntax problems (lines of the rendered text)."""

    _FIELDS = ("documents", "problems")
    documents: list[Document]
    problems: list[ManifestProblem]

    def __init__(
        self,
        documents: list[Document] | None = None,
        problems: list[ManifestProblem] | None = None,
    ) -> None:
        self.documents = [] if documents is None else documents
        self.problems = [] if problems is None else problems


def parse_manifest(text: str, fmt: str, name: str) -> Parsed:
    """Parse one rendered manifest; never raises for bad input, problems are returned."""
    parsed = _parse_toml(text, name) if fmt == "toml" else _parse_yaml(text, name)
    for document in parsed.documents:
        if document.checked:
            continue
        depth_problem, document.json_safe = _inspect(document.data, name)
        if depth_problem:
            return Parsed(problems=[depth_problem])
    return parsed


def parse_data(text: str, fmt: str, name: str) -> tuple[Any, list[ManifestProblem], bool]:
    """Parse a variable file (TOML, YAML with one document, or JSON): (data, problems, plain)
    where plain means only text keys and JSON values (no dates, no number keys)."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"invalid JSON: {exc.msg}"
            problem = ManifestProblem(name, exc.lineno, exc.colno, message=message)
            return None, [problem], False
        except RecursionError:
            problem = ManifestProblem(name, message=f"nested deeper than {MAX_DEPTH} levels")
            return None, [problem], False
        found, plain = _inspect(data, name)
        return data, [found] if found else [], plain
    parsed = parse_manifest(text, fmt, name)
    if parsed.problems:
        return None, parsed.problems, False
    if len(parsed.documents) > 1:
        problem = ManifestProblem(name, message="a variable file holds one YAML document")
        return None, [problem], False
    if not parsed.documents:
        return {}, [], True
    return parsed.documents[0].data, [], parsed.documents[0].json_safe


def _parse_toml(text: str, name: str) -> Parsed:
    try:
        data = toml_parser.loads(text)
    except toml_parser.TOMLDecodeError as exc:
        line, column = _toml_error_position(exc)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", str(exc))
        path = ""
        if message.startswith(("Cannot declare", "Cannot overwrite")):
            twice = redefinition(text)
            if twice is not None and twice[2][0] == line:
                (path, message), (line, column) = _redefined(twice), twice[2]
        return Parsed(
            problems=[ManifestProblem(name, line, column, path, message=f"invalid TOML: {message}")]
        )
    except RecursionError:
        return Parsed(
            problems=[ManifestProblem(name, message=f"nested deeper than {MAX_DEPTH} levels")]
        )
    document = Document(data)
    missing = []
    for kind in RESOURCE_KINDS:
        table = data.get(kind)
        if isinstance(table, dict):
            missing += [(kind, key) for key in table]
    line, counted = 1, 0
    for start, match in _toml_headers(text):
        key = match[2] if match[2] is not None else match[3] if match[3] is not None else match[4]
        line += text.count("\n", counted, start)
        counted = start
        document.lines.setdefault((match[1], key), line)
    if any(item not in document.lines for item in missing):
        # Resources written as dotted keys or inline tables: scan the whole text.
        positions = toml_positions(text)
        for kind, key in missing:
            document.lines.setdefault((kind, key), positions.get((kind, key), (0, 0))[0])
    return Parsed([document])


def _toml_headers(text: str) -> Iterator[tuple[int, re.Match[str]]]:
    """(where its line starts, the match) of each ``[jobs.KEY`` / ``[workspaces.KEY`` header."""
    first_header, header = _toml_header_patterns()
    first = first_header.match(text)
    if first is not None:
        yield 0, first
    for match in header.finditer(text):
        yield match.start() + 1, match


def _redefined(twice: tuple[PathKey, Position, Position]) -> tuple[str, str]:
    path, first, _ = twice
    return format_path(path), f"defined twice (first at line {first[0]})"


def _toml_error_position(exc: Exception) -> tuple[int, int]:
    line, column = getattr(exc, "lineno", 0), getattr(exc, "colno", 0)
    if not line:
        match = re.search(r"at line (\d+), column (\d+)", str(exc))
        line, column = (int(match[1]), int(match[2])) if match else (0, 0)
    return int(line), int(column)


def _parse_yaml(text: str, name: str) -> Parsed:
    import yaml  # only YAML manifests pay for PyYAML

    from rmapply.manifests.yaml_block import parse_block
    from rmapply.manifests.yaml_data import TooDeepError, construct

    fast = parse_block(text, MAX_DEPTH, RESOURCE_KINDS)
    if fast is not None:  # the common block shape, read without composing nodes
        data, lines = fast
        return Parsed([Document(data, 0, lines, json_safe=True, checked=True)])
    parsed = Parsed()
    loader = _yaml_loader()(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if len(parsed.documents) >= MAX_DOCUMENTS:
                parsed.problems.append(
                    ManifestProblem(name, message=f"more than {MAX_DOCUMENTS} documents")
                )
                break
            if "*" in text:  # aliases share nodes: bound what they expand to, refuse cycles
                problem = _alias_problem(node, name)
                if problem:
                    parsed.problems.append(problem)
                    break
            data, safe, duplicates = construct(
                node, loader, shared="*" in text, max_depth=MAX_DEPTH
            )
            document = Document(data, len(parsed.documents), json_safe=bool(safe))
            document.checked = safe is not None
            parsed.problems += [_duplicate(name, d) for d in duplicates]
            _yaml_resource_lines(node, document)
            if document.data is not None:
                parsed.documents.append(document)
    except yaml.YAMLError as exc:
        parsed.problems.append(_yaml_problem(exc, name, text))
    except (RecursionError, TooDeepError):
        parsed.problems.append(
            ManifestProblem(name, message=f"nested deeper than {MAX_DEPTH} levels")
        )
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp like 2024-13-45
        parsed.problems.append(ManifestProblem(name, message=f"invalid YAML value: {exc}"))
    finally:
        loader.dispose()
    if parsed.problems:
        parsed.documents = []
    return parsed


def _yaml_problem(exc: yaml.YAMLError, name: str, text: str) -> ManifestProblem:
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = (
            f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        )
        message = f"invalid YAML: {exc.reason} (character {character})"
        return ManifestProblem(name, line, column, message=message)
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return ManifestProblem(name, message=message)
    return ManifestProblem(name, mark.line + 1, mark.column + 1, message=message)


def _yaml_resource_lines(node: Any, document: Document) -> None:
    """Record the line of each ``jobs.KEY`` / ``workspaces.KEY`` (the first, when repeated)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        kind = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if kind not in RESOURCE_KINDS or not isinstance(value_node, yaml.MappingNode):
            continue
        for resource_node, _ in value_node.value:
            if isinstance(resource_node, yaml.ScalarNode):
                line = resource_node.start_mark.line + 1
                document.lines.setdefault((kind, resource_node.value), line)


def _duplicate(name: str, duplicate: DuplicateKey) -> ManifestProblem:
    return ManifestProblem(
        name,
        duplicate.line,
        duplicate.column,
        path=format_path(duplicate.path),
        message=f"duplicate key (also at line {duplicate.first_line}); YAML would keep only "
        "the last",
    )


def _alias_problem(root: Any, name: str) -> ManifestProblem | None:
    """Refuse recursive aliases and documents that expand beyond MAX_EXPANDED_NODES values."""
    import yaml

    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        ident = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[ident] = 1
            continue
        children = (
            node.value
            if isinstance(node, yaml.SequenceNode)
            else [n for pair in node.value for n in pair]
        )
        if done:
            active.discard(ident)
            sizes[ident] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[ident] > MAX_EXPANDED_NODES:
                line = node.start_mark.line + 1
                return ManifestProblem(
                    name, line, message=f"aliases expand to more than {MAX_EXPANDED_NODES:,} values"
                )
            continue
        if ident in sizes:
            continue
        if ident in active:
            return ManifestProblem(
                name, node.start_mark.line + 1, message="recursive alias (a value contains itself)"
            )
        active.add(ident)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return None


_JSON_SCALARS = (str, int, float, bool, type(None))
_JSON_TYPES = frozenset(_JSON_SCALARS)
_STR_ONLY = frozenset({str})  # the type of every key of plain JSON data


def inspect_data(data: Any, name: str) -> tuple[ManifestProblem | None, bool]:
    """(the problem of data nested deeper than MAX_DEPTH or None, whether it is plain JSON)."""
    return _inspect(data, name)


def _inspect(data: Any, name: str) -> tuple[ManifestProblem | None, bool]:
    """Refuse data nested deeper than MAX_DEPTH; tell whether it is plain JSON data.

    Iterative (one level at a time), so that it cannot overflow itself on the data it is
    guarding against.
    """
    if type(data) is not dict and type(data) is not list:
        return None, isinstance(data, _JSON_SCALARS)
    safe = True
    level: list[Any] = [data]
    depth = 1
    while level:
        if depth > MAX_DEPTH:
            return ManifestProblem(name, message=f"nested deeper than {MAX_DEPTH} levels"), False
        deeper: list[Any] = []
        for value in level:
            if type(value) is dict:
                children: Any = value.values()
                if safe and not _STR_ONLY.issuperset(map(type, value)):
                    safe = False
            else:
                children = value
            for child in children:
                kind = type(child)
                if kind is dict or kind is list:
                    deeper.append(child)
                # the exact types first: a set lookup, isinstance only for subclasses
                elif safe and kind not in _JSON_TYPES and not isinstance(child, _JSON_SCALARS):
                    safe = False
        level = deeper
        depth += 1
    return None, safe
