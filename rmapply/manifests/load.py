"""The one entry point: a manifests directory in, a validated DesiredState out."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from rmapply.config import ProjectConfig, load_config
from rmapply.errors import ManifestError, ManifestProblem
from rmapply.gc_pause import gc_paused
from rmapply.manifests.cache import ManifestCache, entry_key
from rmapply.manifests.discover import ManifestFile, discover
from rmapply.manifests.findings import Finding
from rmapply.manifests.ids import id_findings
from rmapply.manifests.limits import MAX_FILE_BYTES
from rmapply.manifests.parse import Document, parse_manifest
from rmapply.manifests.semantics import check
from rmapply.manifests.validate import Resource, Validated, collect, validate_resource
from rmapply.manifests.variables import Variables, resolve_variables
from rmapply.model import (
    Address,
    DesiredJob,
    DesiredState,
    DesiredWorkspace,
    JobSpec,
    Source,
    WorkspaceSpec,
    digest,
)
from rmapply.wire.paths import field_path as format_path

if TYPE_CHECKING:  # Jinja is imported only when a manifest is rendered (not on a cache hit)
    from rmapply.manifests.render import LineMap, Renderer

# The other place a duplicate-key message names, in rendered lines.
_OTHER_LINE = re.compile(r"\((first|also) at line (\d+)\)")


# a named tuple: built at import for a third of a dataclass's cost
class LoadResult(NamedTuple):
    """What a manifests directory asks for, with its warnings and the digests of its inputs."""

    desired: DesiredState
    warnings: list[ManifestProblem]
    config: ProjectConfig
    manifest_digest: str  # the rendered manifests: a saved plan is stale when this changes
    vars_digest: str  # the resolved template variables
    files: tuple[str, ...] = ()
    variables: Variables = Variables()  # (every load passes its own; this one is never changed)


@dataclass
class _Unit:
    """One manifest file after rendering and parsing (or from the cache)."""

    file: ManifestFile
    rendered_digest: str = ""
    documents: list[Document] = field(default_factory=list)
    origins: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    problems: list[ManifestProblem] = field(default_factory=list)
    text: str | None = None
    line_map: LineMap | None = None
    literal: bool = True  # the rendered text is the file's own text (no Jinja markup)


def load_manifests(
    directory: Path,
    *,
    var_files: Sequence[str | Path] = (),
    cli_vars: Mapping[str, Any] = MappingProxyType({}),
    environ: Mapping[str, str] = os.environ,
    use_cache: bool = True,
) -> LoadResult:
    """Discover, render, parse and validate; ManifestError lists every problem at once."""
    directory = Path(directory)
    with gc_paused(promote=True):
        config = load_config(directory)
        variables = resolve_variables(
            config, var_files=var_files, environ=environ, cli_vars=cli_vars
        )
        files = discover(directory)
        session = _Session(
            directory, variables, environ, ManifestCache(directory) if use_cache else None
        )
        units = [session.unit(f) for f in files]
        if session.cache is not None:
            session.cache.prune([f.name for f in files])
        return session.finish(config, units)


class _Session:
    def __init__(
        self,
        directory: Path,
        variables: Variables,
        environ: Mapping[str, str],
        cache: ManifestCache | None,
    ) -> None:
        self.directory = directory
        self.variables = variables
        self.environ = environ
        self.cache = cache
        self._renderer: Renderer | None = None
        self._digests: dict[str, str | None] = {}
        self.units: dict[str, _Unit] = {}

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            from rmapply.manifests.render import Renderer

            self._renderer = Renderer(self.directory, self.variables.values, self.environ)
        return self._renderer

    def _digest(self, name: str) -> str | None:
        if name not in self._digests:
            try:
                self._digests[name] = hashlib.sha256(
                    (self.directory / name).read_bytes()
                ).hexdigest()
            except OSError:
                self._digests[name] = None
        return self._digests[name]

    def unit(self, file: ManifestFile) -> _Unit:
        unit = self._unit(file)
        self.units[file.name] = unit
        return unit

    def _unit(self, file: ManifestFile) -> _Unit:
        try:
            size = file.path.stat().st_size
            raw = file.path.read_bytes() if size <= MAX_FILE_BYTES else b""
        except OSError as exc:
            return _Unit(
                file, problems=[ManifestProblem(file.name, message=f"cannot read: {exc.strerror}")]
            )
        if size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // 2**20
            message = f"is {size / 2**20:.1f} MiB; a manifest may be at most {limit} MiB"
            return _Unit(file, problems=[ManifestProblem(file.name, message=message)])
        source_digest = hashlib.sha256(raw).hexdigest()
        self._digests[file.name] = source_digest
        key = entry_key(file.name, source_digest, self.variables.digest)
        if self.cache is not None:
            entry = self.cache.get(file.name, key)
            cached = self._cached_unit(file, entry) if entry is not None else None
            if cached is not None:
                return cached
        try:
            text = raw.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            message = f"is not UTF-8 text (byte 0x{raw[exc.start]:02x}); is it a binary file?"
            return _Unit(file, problems=[ManifestProblem(file.name, line, message=message)])
        from rmapply.manifests.render import has_markup  # a cache miss: Jinja may be needed

        unit = _Unit(file)
        templates: dict[str, str | None] = {file.name: source_digest}
        env_reads: dict[str, str | None] = {}
        if has_markup(text):
            rendered, problems = self.renderer.render(file.name)
            if rendered is None:
                unit.problems = problems
                return unit
            text, unit.line_map, unit.literal = rendered.text, rendered.line_map, False
            templates, env_reads = rendered.templates, rendered.env_reads
        unit.text = text
        unit.rendered_digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        parsed = parse_manifest(text, file.format, file.name)
        unit.problems = [self._explained(unit, p) for p in parsed.problems]
        unit.documents = parsed.documents
        for document in parsed.documents:
            for resource, line in document.lines.items():
                where = self._locate(unit, line, 0)
                unit.origins[resource] = (where[0], where[1])
        if (
            self.cache is not None
            and not unit.problems
            and all(d.json_safe for d in unit.documents)
        ):
            self.cache.put(file.name, key, _to_entry(unit, templates, env_reads))
        return unit

    def _cached_unit(self, file: ManifestFile, entry: dict[str, Any]) -> _Unit | None:
        """The unit of a fresh entry; None for a stale entry or one of the wrong shape (a
        cache written by hand or by a bug is ignored, never fatal)."""
        try:
            return _from_entry(file, entry) if self._fresh(entry) else None
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def _fresh(self, entry: dict[str, Any]) -> bool:
        """An entry holds while the partials it used and the environment it read are unchanged."""
        for name, expected in entry.get("templates", {}).items():
            if self._digest(name) != expected:
                return False
        return all(self.environ.get(n) == v for n, v in entry.get("env", {}).items())

    def _locate(self, unit: _Unit, line: int, column: int) -> tuple[str, int, int]:
        if unit.literal or not line:
            return unit.file.name, line, column
        if unit.line_map is not None:
            return unit.line_map.locate(unit.file.name, line, column)
        return unit.file.name, 0, 0

    def _explained(self, unit: _Unit, problem: ManifestProblem) -> ManifestProblem:
        """A parse problem, with the rendered lines around it when a template wrote them."""
        mapped = self._mapped(unit, problem)
        syntax = problem.message.startswith(("invalid TOML", "invalid YAML"))
        if unit.literal or unit.text is None or not problem.line or not syntax:
            return mapped
        origin = unit.line_map.origin if unit.line_map is not None else None
        source = self.renderer.loader.sources.get(unit.file.name)
        from rmapply.manifests.excerpt import rendered_excerpt  # imports jinja2: errors only

        excerpt = rendered_excerpt(unit.text, problem.line, unit.file.name, origin, source)
        return mapped._replace(message=f"{mapped.message}\n{excerpt}")

    def _mapped(self, unit: _Unit, problem: ManifestProblem) -> ManifestProblem:
        file, line, column = self._locate(unit, problem.line, problem.column)
        message = problem.message
        if problem.line and not line:
            message += f" (line {problem.line} of the rendered template)"
        if not unit.literal:  # "(first at line N)" names a rendered line too

            def other(match: re.Match[str]) -> str:
                where, at, _ = self._locate(unit, int(match[2]), 0)
                if not at:
                    return f"({match[1]} at line {match[2]} of the rendered template)"
                return f"({match[1]} at {'line ' if where == file else where + ':'}{at})"

            message = _OTHER_LINE.sub(other, message)
        return problem._replace(file=file, line=line, column=column, message=message)

    def place(self, finding: Finding) -> ManifestProblem:
        """A finding on the line of its field, in template coordinates."""
        unit = self.units[finding.file]
        path = format_path(finding.path)
        base = ManifestProblem(unit.file.name, 0, 0, path, finding.message, finding.severity)
        if len(finding.path) == 2 and tuple(finding.path) in unit.origins:
            file, line = unit.origins[(str(finding.path[0]), str(finding.path[1]))]
            return base._replace(file=file, line=line)
        line, column = finding.line, finding.column
        if not line:
            self._restore_text(unit)
            if unit.text is None:
                return base
            from rmapply.manifests.locate import position, text_positions

            positions = text_positions(unit.text, unit.file.format)
            line, column = position(positions, finding.document, finding.path)
        return self._mapped(unit, base._replace(line=line, column=column))

    def _restore_text(self, unit: _Unit) -> None:
        """A cached unit has no text; render it again to find a field's line."""
        if unit.text is not None:
            return
        try:
            text = unit.file.path.read_text(encoding="utf-8").removeprefix("\ufeff")
        except (OSError, UnicodeDecodeError):
            return
        from rmapply.manifests.render import has_markup

        unit.literal = not has_markup(text)
        if not unit.literal:
            rendered, _ = self.renderer.render(unit.file.name)
            if rendered is None:
                return
            text, unit.line_map = rendered.text, rendered.line_map
        unit.text = text

    def finish(self, config: ProjectConfig, units: list[_Unit]) -> LoadResult:
        problems = [p for unit in units for p in unit.problems]
        resources, findings = collect(
            (u.file.name, u.documents, u.origins) for u in units if not u.problems
        )
        all_keys: dict[str, set[str]] = {"jobs": set(), "workspaces": set()}
        for resource in resources:
            all_keys[resource.kind].add(resource.key)
        jobs: dict[str, tuple[Resource, JobSpec]] = {}
        workspaces: dict[str, tuple[Resource, WorkspaceSpec]] = {}
        validated: Validated = {}
        for resource in resources:
            spec, invalid = validate_resource(resource, config, validated)
            findings += invalid + id_findings(resource)
            if isinstance(spec, JobSpec):
                jobs[resource.key] = (resource, spec)
            elif isinstance(spec, WorkspaceSpec):
                workspaces[resource.key] = (resource, spec)
        findings += check(jobs, workspaces, all_keys)
        problems += [self.place(f) for f in findings]
        errors = [p for p in problems if p.severity == "error"]
        warnings = sorted(p for p in problems if p.severity != "error")
        if errors:
            raise ManifestError(errors + warnings)
        desired_workspaces: dict[Address, DesiredWorkspace] = {}
        for key, (resource, workspace) in sorted(workspaces.items()):
            address = Address.workspace(key)
            desired_workspaces[address] = DesiredWorkspace(
                address, workspace, self._source(resource)
            )
        desired_jobs: dict[Address, DesiredJob] = {}
        for key, (resource, job) in sorted(jobs.items()):
            address = Address.job(key)
            desired_jobs[address] = DesiredJob(address, job, self._source(resource))
        desired = DesiredState(config.itwin_id, desired_workspaces, desired_jobs)
        return LoadResult(
            desired=desired,
            warnings=warnings,
            config=config,
            manifest_digest=digest([[u.file.name, u.rendered_digest] for u in units]),
            vars_digest=self.variables.digest,
            files=tuple(u.file.name for u in units),
            variables=self.variables,
        )

    def _source(self, resource: Resource) -> Source:
        file, line = self.units[resource.file].origins.get(
            (resource.kind, resource.key), (resource.file, 0)
        )
        return Source(file, line)


def _to_entry(
    unit: _Unit, templates: dict[str, str | None], env_reads: dict[str, str | None]
) -> dict[str, Any]:
    return {
        "rendered": unit.rendered_digest,
        "templates": templates,
        "env": env_reads,
        "documents": [
            {
                "data": document.data,
                "index": document.index,
                "lines": [[kind, key, line] for (kind, key), line in document.lines.items()],
            }
            for document in unit.documents
        ],
        "origins": [[kind, key, file, line] for (kind, key), (file, line) in unit.origins.items()],
    }


def _from_entry(file: ManifestFile, entry: dict[str, Any]) -> _Unit:
    unit = _Unit(file, rendered_digest=entry["rendered"], literal=False)
    for item in entry["documents"]:
        lines = {(kind, key): line for kind, key, line in item["lines"]}
        unit.documents.append(Document(item["data"], item["index"], lines))
    unit.origins = {(kind, key): (src, line) for kind, key, src, line in entry["origins"]}
    return unit
