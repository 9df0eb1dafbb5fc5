"""Rendering: every manifest goes through a sandboxed Jinja environment rooted at the directory."""

from __future__ import annotations

import hashlib
import math
import re
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment, safe_range

from rmapply.errors import ManifestProblem
from rmapply.manifests.excerpt import syntax_problem
from rmapply.manifests.limits import (
    MAX_FILE_BYTES,
    MAX_INTEGER_BITS,
    MAX_RANGE_ITEMS,
    MAX_RENDERED_BYTES,
)
from rmapply.manifests.quoting import to_json, to_toml, to_yaml

_MISSING: Any = object()
_MARK = re.compile("\x00(\\d+):(\\d+)\x00")
# The same markers without groups: removing them from the whole text is a third faster.
_MARK_PLAIN = re.compile("\x00\\d+:\\d+\x00")
_NAMESPACES = {
    "dns": uuid.NAMESPACE_DNS,
    "url": uuid.NAMESPACE_URL,
    "oid": uuid.NAMESPACE_OID,
    "x500": uuid.NAMESPACE_X500,
}


class HelperError(Exception):
    """A helper was called wrongly (an unset environment variable, a bad namespace)."""


def has_markup(text: str) -> bool:
    """True when Jinja would change the text; plain files skip the template engine."""
    return "{{" in text or "{%" in text or "{#" in text


def uuid5(namespace: str, name: Any) -> str:
    """A deterministic UUID: ``namespace`` is a UUID or one of dns, url, oid, x500."""
    known = _NAMESPACES.get(str(namespace).lower())
    if known is None:
        try:
            known = uuid.UUID(str(namespace))
        except ValueError:
            raise HelperError(
                f"uuid5: {namespace!r} is not a UUID nor one of dns, url, oid, x500"
            ) from None
    # uuid.uuid5 without building a UUID object (a third of the time; called per job).
    material = known.bytes + str(name).encode("utf-8")
    hashed = bytearray(hashlib.sha1(material, usedforsecurity=False).digest()[:16])
    hashed[6] = (hashed[6] & 0x0F) | 0x50  # version 5
    hashed[8] = (hashed[8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = hashed.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


class RootedLoader(jinja2.BaseLoader):
    """Loads templates by their path below the root; no name may leave it (.., links)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.names: dict[str, str] = {}  # absolute filename -> template name
        self.digests: dict[str, str] = {}  # template name -> sha256 of its bytes
        self.sources: dict[str, str] = {}

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """Source, filename and an always-fresh check for ``template``."""
        name = template_name(template)
        path = self.root.joinpath(*name.split("/"))
        try:
            real = path.resolve()
            if not real.is_relative_to(self.root):
                raise HelperError(
                    f"template {template!r} is a link that points outside the manifests directory"
                )
            if not real.is_file():
                raise OSError
            size = real.stat().st_size
            raw = real.read_bytes() if size <= MAX_FILE_BYTES else b""
        except (OSError, RuntimeError):
            raise jinja2.TemplateNotFound(template) from None
        if size > MAX_FILE_BYTES:
            raise HelperError(f"template {template!r} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        try:
            source = raw.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            raise HelperError(f"template {template!r} is not valid UTF-8 text") from None
        self.names[str(path)] = name
        self.digests[name] = hashlib.sha256(raw).hexdigest()
        self.sources[name] = source
        return source, str(path), lambda: True


def template_name(template: str) -> str:
    """The normalized name (``./_lib//x.j2`` -> ``_lib/x.j2``); HelperError when it leaves the
    directory (``..``, an absolute path)."""
    pieces = [piece for piece in template.split("/") if piece not in ("", ".")]
    if template.startswith("/") or ".." in pieces or "\\" in template or not pieces:
        raise HelperError(_outside(template))
    return "/".join(pieces)


def _outside(template: str) -> str:
    return (
        f"template {template!r} is outside the manifests directory; name partials by their "
        "path from its top, e.g. '_lib/pipeline.j2'"
    )


class _Environment(SandboxedEnvironment):
    """Records which templates a render used and marks the origin of each output line."""

    def __init__(self, loader: RootedLoader) -> None:
        super().__init__(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            extensions=["jinja2.ext.loopcontrols"],
        )
        self.used: set[str] = set()
        self.file_ids: list[str] = []
        self.range_items = 0
        self.globals["range"] = self._range
        # Random output would make every plan different (and the cache wrong); see docs.
        self.filters.pop("random", None)

    intercepted_binops = frozenset({"*", "**"})

    def _range(self, *args: int) -> range:
        """Jinja's sandboxed range, with a budget over the whole render: nested loops that
        would run for hours stop with a message instead."""
        result: range = safe_range(*args)
        self.range_items += len(result)
        if self.range_items > MAX_RANGE_ITEMS:
            raise HelperError(f"range(): loops over more than {MAX_RANGE_ITEMS:,} numbers in all")
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*`` and ``**`` of a size that would exhaust memory or time are refused."""
        if (
            operator == "**"
            and _is_int(left)
            and _is_int(right)
            and abs(left) > 1
            and right > 0
            and right * math.log2(abs(left)) > MAX_INTEGER_BITS
        ):
            raise HelperError(f"{left} ** {right} is too large a number")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and _is_int(count)
                    and len(sequence) * count > MAX_RENDERED_BYTES
                ):
                    raise HelperError("repeating a text or list gives more than 64 MiB")
        return super().call_binop(context, operator, left, right)

    def _load_template(self, name: str, globals: Any) -> jinja2.Template:
        # Recorded before Jinja's own cache answers, so a partial used by several manifests
        # is a dependency of each of them (and one that is not found is one too).
        self.used.add(template_name(name))
        return super()._load_template(name, globals)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        self.file_ids.append(name or "")
        _mark_tree(tree, len(self.file_ids) - 1)
        return tree


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _marker(file_id: int, line: int) -> str:
    return f"\x00{file_id}:{line}\x00"


# Output inside these is a value that a filter or test may look at (``| length``,
# ``caller() | indent``): it stays unmarked, so markers never change what a template computes.
_INDIRECT = (nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.AssignBlock)


def _direct_outputs(node: nodes.Node) -> Iterator[nodes.Output]:
    """Output nodes whose text goes straight into the rendered file."""
    for child in node.iter_child_nodes():
        if isinstance(child, _INDIRECT) or (isinstance(child, nodes.For) and child.recursive):
            continue
        if isinstance(child, nodes.Output):
            yield child
        else:
            yield from _direct_outputs(child)


def _mark_tree(tree: nodes.Template, file_id: int) -> None:
    """Put an origin marker before every direct piece of output and after each literal newline.

    Only text that goes straight to the output is marked, so removing the markers from the
    result gives exactly the unmarked rendering; lines written by a macro map to the line
    that called it.
    """
    for output in list(_direct_outputs(tree)):
        marked: list[nodes.Expr] = []
        for child in output.nodes:
            line = child.lineno
            if isinstance(child, nodes.TemplateData):
                pieces = child.data.split("\n")
                data = _marker(file_id, line) + pieces[0]
                for offset, piece in enumerate(pieces[1:], start=1):
                    data += "\n" + _marker(file_id, line + offset) + piece
                marked.append(nodes.TemplateData(data, lineno=line))
            else:
                marked.append(nodes.TemplateData(_marker(file_id, line), lineno=line))
                marked.append(child)
        output.nodes = marked


@dataclass
class LineMap:
    """Maps a line of the rendered text back to the template file and line that wrote it."""

    marked_lines: list[str]
    file_ids: list[str]
    sources: dict[str, list[str]]
    _last: dict[int, tuple[str, int] | None] = field(default_factory=dict)

    def origin(self, line: int) -> tuple[str, int] | None:
        """(template name, line) for a 1-based rendered line, or None when unknown."""
        index = line - 1
        if not 0 <= index < len(self.marked_lines):
            return None
        parts = _MARK.split(self.marked_lines[index])
        current: tuple[str, int] | None = None
        last: tuple[str, int] | None = None
        for position in range(0, len(parts), 3):
            if position:
                last = (self.file_ids[int(parts[position - 2])], int(parts[position - 1]))
                current = last
            if parts[position].strip():
                return current if current else self._before(index)
        return last if last else self._before(index)

    def _before(self, index: int) -> tuple[str, int] | None:
        """The last marker on a line before ``index`` (memoised: a long unmarked block is
        walked once, not once per line)."""
        walked: list[int] = []
        found: tuple[str, int] | None = None
        earlier = index - 1
        while earlier >= 0:
            if earlier in self._last:
                found = self._last[earlier]
                break
            marks = _MARK.findall(self.marked_lines[earlier])
            if marks:
                found = (self.file_ids[int(marks[-1][0])], int(marks[-1][1]))
                break
            walked.append(earlier)
            earlier -= 1
        for line in walked:
            self._last[line] = found
        return found

    def locate(self, name: str, line: int, column: int) -> tuple[str, int, int]:
        """A rendered position as a template position; the column only when the line is literal."""
        found = self.origin(line) if line else None
        if found is None:
            return name, line, column
        template, template_line = found
        if not column:  # nothing to keep: the literal-line check below would be wasted
            return template, template_line, 0
        rendered = _MARK.sub("", self.marked_lines[line - 1])
        lines = self.sources.get(template, [])
        literal = 0 < template_line <= len(lines) and lines[template_line - 1] == rendered
        return template, template_line, column if literal else 0


@dataclass
class Rendered:
    """The rendered text of one manifest and what it depended on."""

    text: str
    line_map: LineMap | None = None
    templates: dict[str, str | None] = field(default_factory=dict)  # name -> sha256, or
    # None for a name that was looked for and not found
    env_reads: dict[str, str | None] = field(default_factory=dict)


class Renderer:
    """Renders manifests with the given variables; one instance per load."""

    def __init__(
        self, root: Path, variables: Mapping[str, Any], environ: Mapping[str, str]
    ) -> None:
        self.loader = RootedLoader(root)
        self.environ = environ
        self.reads: dict[str, str | None] = {}
        self.marking = _Environment(self.loader)
        self.marking.globals.pop("lipsum", None)  # random text has no place in manifests
        self.marking.globals.update(dict(variables))
        self.marking.globals.update(env=self._env, uuid5=uuid5, vars=dict(variables))
        self.marking.filters.update(tojson=to_json, toml=to_toml, yaml=to_yaml)

    def _env(self, name: str, default: Any = _MISSING) -> Any:
        value = self.environ.get(str(name))
        self.reads[str(name)] = value
        if value is None:
            if default is _MISSING:
                raise HelperError(
                    f"environment variable {name!r} is not set and env() has no default"
                )
            return default
        return value

    def render(self, name: str) -> tuple[Rendered | None, list[ManifestProblem]]:
        """Render the manifest ``name``; (None, problems) when the template fails."""
        self.reads = {}
        self.marking.used = set()
        self.marking.range_items = 0
        try:
            marked = self._generate(self.marking, name, 2 * MAX_RENDERED_BYTES)
        except Exception as exc:  # template code may raise anything: report it
            return None, [self._problem(exc, name)]
        text = _MARK_PLAIN.sub("", marked) if "\x00" in marked else marked
        if len(text) > MAX_RENDERED_BYTES:
            limit = MAX_RENDERED_BYTES // 2**20
            return None, [ManifestProblem(name, message=f"renders to more than {limit} MiB")]
        rendered = Rendered(text, env_reads=dict(self.reads))
        used = self.marking.used | {name}
        rendered.templates = {n: self.loader.digests.get(n) for n in sorted(used)}
        sources = {n: s.splitlines() for n, s in self.loader.sources.items()}
        rendered.line_map = LineMap(marked.split("\n"), self.marking.file_ids, sources)
        return rendered, []

    def _generate(self, environment: _Environment, name: str, limit: int) -> str:
        template = environment.get_template(name)
        chunks: list[str] = []
        size = 0
        for chunk in template.generate():
            size += len(chunk)
            if size > limit:
                raise HelperError(f"renders to more than {MAX_RENDERED_BYTES // 2**20} MiB")
            chunks.append(chunk)
        return "".join(chunks)

    def _problem(self, exc: Exception, name: str) -> ManifestProblem:
        if isinstance(exc, jinja2.TemplateSyntaxError):
            where = exc.name or name
            return syntax_problem(where, exc, self.loader.sources.get(where), self.marking)
        where, line = self._template_frame(exc, name)
        if isinstance(exc, jinja2.TemplateNotFound):
            message = f"template {exc.name!r} not found below the manifests directory"
        elif isinstance(exc, jinja2.UndefinedError):
            message = f"undefined variable: {exc.message}"
        elif isinstance(exc, jinja2.exceptions.SecurityError):
            message = f"not allowed in templates: {exc}"
        elif isinstance(exc, HelperError | ValueError):
            message = str(exc)
        else:
            message = f"template error: {type(exc).__name__}: {exc}"
        return ManifestProblem(where, line, message=message)

    def _template_frame(self, exc: Exception, name: str) -> tuple[str, int]:
        """The innermost template file and line in the traceback (Jinja rewrites its frames)."""
        found = (name, 0)
        for frame in traceback.extract_tb(exc.__traceback__):
            template = self.loader.names.get(frame.filename)
            if template is not None and frame.lineno:
                found = (template, frame.lineno)
        return found
