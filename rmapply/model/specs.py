"""Desired resources as a user writes them: the API creation fields plus reconciler fields."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from pydantic import Field

from rmapply.model.address import Address
from rmapply.wire import (
    CostEstimationParameters,
    JobCreateSettings,
    JobInput,
    JobType,
    WireModel,
    WorkspaceCreation,
)

if TYPE_CHECKING:
    from rmapply.wire import JobCreation

# ``cacheSettings.useCache`` starting with this names a job in the manifests, not a cache id.
CACHE_ADDRESS_PREFIX = "jobs."

# ``jobs.KEY.outputs.FORMAT``: an input that is another job's output (formats hold spaces, "/").
OUTPUT_REFERENCE = re.compile(r"jobs\.([a-z0-9][a-z0-9_-]*)\.outputs\.(\S(?:.*\S)?)")


# a named tuple: built at import for a third of a dataclass's cost; it orders and hashes as
# (address, format), as the dataclass did
class OutputRef(NamedTuple):
    """An input written as ``jobs.KEY.outputs.FORMAT``: the output ``format`` of the job at
    ``address``, whose reality-data id is known only once that job exists."""

    address: Address
    format: str

    @classmethod
    def parse(cls, text: str) -> "OutputRef | None":
        """The reference ``text`` spells, or None when it is not shaped like one."""
        if not text.startswith("jobs."):  # (most inputs are ids: no need for the pattern)
            return None
        match = OUTPUT_REFERENCE.fullmatch(text)
        if match is None or "\n" in text:
            return None
        return cls(Address.job(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.address}.outputs.{self.format}"


def job_upstreams(input_ids: Iterable[str], use_cache: str | None) -> set[Address]:
    """The jobs a job takes outputs or a cache from, the one rule of what an upstream is: its
    inputs written as ``jobs.KEY.outputs.FORMAT`` and ``useCache = "jobs.KEY"`` (``dependsOn``
    only orders applies: not among them). The planner reads it from a JobSpec (``upstreams``),
    apply from the spec JSON it planned."""
    found = set()
    for text in input_ids:
        # (the prefix first: most inputs are ids, not worth a call)
        ref = OutputRef.parse(text) if text.startswith("jobs.") else None
        if ref is not None:
            found.add(ref.address)
    if use_cache is not None and use_cache.startswith(CACHE_ADDRESS_PREFIX):
        found.add(Address.parse(use_cache))
    return found


class WorkspaceSpec(WireModel):
    """A desired workspace: the API workspace-creation fields (iTwinId defaults to the project)."""

    name: str
    i_twin_id: str | None = Field(default=None, alias="iTwinId")
    context_capture_version: str | None = None

    def to_creation(self, default_itwin_id: str | None = None) -> WorkspaceCreation:
        """The exact ``POST /workspaces`` body."""
        return WorkspaceCreation(
            name=self.name,
            i_twin_id=self.i_twin_id or default_itwin_id,
            context_capture_version=self.context_capture_version,
        )


def _no_items() -> list[str]:
    # a Python function, not ``list``: pydantic reads the factory's signature when it builds the
    # validator, and a builtin's is parsed from its text (tokenize, ~3 ms the first time)
    return []


class JobSpec(WireModel):
    """A desired job: the API's Job Creation fields, spelled as the API spells them, plus reconciler
    fields (``workspace``, ``submit``, ``dependsOn``, ``retryFailed``) that are never sent."""

    type: JobType
    name: str
    workspace_id: str | None = None
    inputs: list[JobInput]
    settings: JobCreateSettings
    cost_estimation_parameters: CostEstimationParameters | None = None
    # reconciler fields
    workspace: str | None = Field(default=None, description="key of a workspace in the manifests")
    submit: bool = Field(default=True, description="submit the job once created")
    depends_on: list[str] = Field(default_factory=_no_items, description="addresses applied first")
    retry_failed: bool = Field(default=False, description="re-create the job when it failed")

    @property
    def cache_address(self) -> str | None:
        """``jobs.KEY`` when ``cacheSettings.useCache`` names a job of the manifests (whose cache
        id, the id of that job, is known only once it exists), else None."""
        cache = self.settings.cache_settings
        use = cache.use_cache if cache else None
        return use if use and use.startswith(CACHE_ADDRESS_PREFIX) else None

    @property
    def upstreams(self) -> set[Address]:
        """The jobs whose outputs or cache this job takes (``job_upstreams``): it is
        submitted only once each has succeeded."""
        return job_upstreams((item.id for item in self.inputs), self.cache_address)

    @property
    def output_refs(self) -> dict[int, OutputRef]:
        """The inputs written as another job's output (``jobs.KEY.outputs.FORMAT``), by index;
        derived from the inputs as written, so a job without any is unchanged (same digest)."""
        found: dict[int, OutputRef] = {}
        for index, item in enumerate(self.inputs):
            # (the prefix first: most inputs are ids, not worth a call)
            ref = OutputRef.parse(item.id) if item.id.startswith("jobs.") else None
            if ref is not None:
                found[index] = ref
        return found

    def to_creation(
        self,
        workspace_id: str,
        cache_id: str | None = None,
        output_ids: Mapping[OutputRef, str] | None = None,
    ) -> "JobCreation":
        """The exact ``POST /jobs`` body, with the workspace (and a cache address) resolved.

        ``cache_id`` replaces ``useCache = "jobs.KEY"``; it is required when useCache is such
        an address, because an address must never reach the API. ``output_ids`` likewise
        replaces every input written as an output reference.
        """
        inputs = list(self.inputs)
        for index, ref in self.output_refs.items():
            known = (output_ids or {}).get(ref)
            if known is None:
                raise ValueError(f"input {ref} needs the id of that job's output")
            inputs[index] = inputs[index].model_copy(update={"id": known})
        settings = self.settings
        if self.cache_address is not None:
            if cache_id is None:
                raise ValueError(
                    f"useCache {self.cache_address!r} needs the id of that job's cache"
                )
            cache = settings.cache_settings
            assert cache is not None
            settings = settings.model_copy(
                update={"cache_settings": cache.model_copy(update={"use_cache": cache_id})}
            )
        from rmapply.wire import JobCreation  # made on first use: a plan creating no job

        return JobCreation(
            type=self.type,
            name=self.name,
            workspace_id=workspace_id,
            inputs=inputs,
            settings=settings,
            cost_estimation_parameters=self.cost_estimation_parameters,
        )


RECONCILER_FIELDS = frozenset({"workspace", "submit", "dependsOn", "retryFailed"})
