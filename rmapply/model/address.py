"""Addresses: the stable name of a desired resource (``jobs.site-a``, ``workspaces.main``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ResourceKind(StrEnum):
    """The kinds of resource rmapply manages; the value is the manifest's top-level table."""

    WORKSPACE = "workspaces"
    JOB = "jobs"


@dataclass(frozen=True, order=True)
class Address:
    """``<kind>.<key>``; the key matches ``[a-z0-9][a-z0-9_-]*`` and is unique per directory."""

    kind: ResourceKind
    key: str

    def __post_init__(self) -> None:
        if not KEY_PATTERN.fullmatch(self.key):
            raise ValueError(f"invalid resource key {self.key!r}: use [a-z0-9][a-z0-9_-]*")

    def __hash__(self) -> int:
        # the key alone (a job and a workspace of the same key only share a bucket): the
        # generated hash builds a tuple on each call, and planning hashes addresses per job
        return hash(self.key)

    def __str__(self) -> str:
        return f"{self.kind.value}.{self.key}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``jobs.site-a``; raises ValueError naming what is wrong."""
        kind, sep, key = text.partition(".")
        if not sep:
            raise ValueError(f"invalid address {text!r}: expected 'jobs.KEY' or 'workspaces.KEY'")
        try:
            resource_kind = ResourceKind(kind)
        except ValueError:
            raise ValueError(
                f"invalid address {text!r}: kind must be 'jobs' or 'workspaces'"
            ) from None
        return cls(resource_kind, key)

    @classmethod
    def job(cls, key: str) -> Address:
        """The address of job ``key``."""
        return cls(ResourceKind.JOB, key)

    @classmethod
    def workspace(cls, key: str) -> Address:
        """The address of workspace ``key``."""
        return cls(ResourceKind.WORKSPACE, key)
