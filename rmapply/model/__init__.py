"""Desired resources: addresses, specs, the desired state, field classes and canonical digests."""

from rmapply.model.address import Address, ResourceKind
from rmapply.model.desired import DesiredJob, DesiredState, DesiredWorkspace, Source
from rmapply.model.digest import canonical_json, digest
from rmapply.model.fields import PATCHABLE_JOB_FIELDS, FieldClass, classify_job_field
from rmapply.model.specs import (
    RECONCILER_FIELDS,
    JobSpec,
    OutputRef,
    WorkspaceSpec,
    job_upstreams,
)

__all__ = [
    "PATCHABLE_JOB_FIELDS",
    "RECONCILER_FIELDS",
    "Address",
    "DesiredJob",
    "DesiredState",
    "DesiredWorkspace",
    "FieldClass",
    "JobSpec",
    "OutputRef",
    "ResourceKind",
    "Source",
    "WorkspaceSpec",
    "canonical_json",
    "classify_job_field",
    "digest",
    "job_upstreams",
]
