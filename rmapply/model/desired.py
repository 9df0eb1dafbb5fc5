"""DesiredState: every desired workspace and job, where it was written, and their dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from rmapply.model.address import Address, ResourceKind
from rmapply.model.digest import digest
from rmapply.model.specs import JobSpec, WorkspaceSpec


# Source, DesiredWorkspace and DesiredJob are named tuples: built at import for a third of a
# dataclass's cost, and one of each is made per resource without a setattr call per field.
# (Compared only with their own kind: a workspace and a job never share an address.)
class Source(NamedTuple):
    """Where a resource was written: the manifest file (relative to the directory) and line."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class DesiredWorkspace(NamedTuple):
    """A desired workspace with its address and source."""

    address: Address
    spec: WorkspaceSpec
    source: Source

    @property
    def digest(self) -> str:
        """Canonical digest of the spec."""
        return digest(self.spec.to_wire())


class DesiredJob(NamedTuple):
    """A desired job with its address and source."""

    address: Address
    spec: JobSpec
    source: Source

    @property
    def digest(self) -> str:
        """Canonical digest of the spec."""
        return digest(self.spec.to_wire())

    def dependencies(self) -> set[Address]:
        """Addresses applied before this job: its workspace, ``dependsOn``, the job whose cache
        it reuses (``useCache = "jobs.KEY"``) and every job whose output it takes as an input."""
        deps = {Address.parse(a) for a in self.spec.depends_on}
        if self.spec.workspace:
            deps.add(Address.workspace(self.spec.workspace))
        if self.spec.cache_address:
            deps.add(Address.parse(self.spec.cache_address))
        deps.update(ref.address for ref in self.spec.output_refs.values())
        return deps


@dataclass(frozen=True)
class DesiredState:
    """Everything the manifests ask for, keyed by address."""

    itwin_id: str | None = None
    workspaces: dict[Address, DesiredWorkspace] = field(default_factory=dict)
    jobs: dict[Address, DesiredJob] = field(default_factory=dict)

    def __iter__(self) -> Iterator[DesiredWorkspace | DesiredJob]:
        yield from self.workspaces.values()
        yield from self.jobs.values()

    def __len__(self) -> int:
        return len(self.workspaces) + len(self.jobs)

    def get(self, address: Address) -> DesiredWorkspace | DesiredJob | None:
        """The resource at ``address``, if desired."""
        if address.kind is ResourceKind.WORKSPACE:
            return self.workspaces.get(address)
        return self.jobs.get(address)

    def dependencies(self, address: Address) -> set[Address]:
        """Direct dependencies of the resource at ``address``."""
        resource = self.get(address)
        return resource.dependencies() if isinstance(resource, DesiredJob) else set()
