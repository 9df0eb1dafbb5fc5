"""What the v1 API answers: jobs, their progress, a page of jobs, workspaces, engines limit.

Apart from the bodies rmapply sends (rmapply.wire.jobs, rmapply.wire.workspaces): a plan that
reads nothing from the service (``--no-refresh``) never builds these models.
"""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from rmapply.wire.base import WireModel
from rmapply.wire.enums import JobState, JobType, Location, OutputFormat, ProgressState, Quality
from rmapply.wire.jobs import CacheSettings, CostEstimationParameters, JobInput


class ErrorWarningMessage(WireModel):
    """Schema ``ErrorWarningMessages``: an error or warning produced while processing."""

    code: str | None = None
    title: str | None = None
    message: str | None = None
    params: list[Any] | None = None


class ExecutionInformation(WireModel):
    """Schema ``execInfo``: when the job was submitted, started and ended, and what it cost."""

    submitted_date_time: datetime
    started_date_time: datetime | None = None
    ended_date_time: datetime | None = None
    estimated_units: float | None = None
    errors: list[ErrorWarningMessage] | None = None
    warnings: list[ErrorWarningMessage] | None = None


class JobOutput(WireModel):
    """Schema ``jobOutput``: one requested format and the reality-data id it is written to."""

    format: OutputFormat
    id: str | None = None


class JobSettings(WireModel):
    """Schema ``jobSettings``: the settings of an existing job, outputs with their ids."""

    quality: Quality | None = None
    processing_engines: int | None = None
    outputs: list[JobOutput] | None = None
    cache_settings: CacheSettings | None = None


class Job(WireModel):
    """Schema ``job``: a job as the service reports it."""

    id: str
    name: str
    type: JobType
    state: JobState
    created_date_time: datetime
    last_modified_date_time: datetime
    location: Location
    i_twin_id: str | None = Field(default=None, alias="iTwinId")
    workspace_id: str
    email: str
    execution_information: ExecutionInformation | None = None
    inputs: list[JobInput]
    job_settings: JobSettings
    cost_estimation_parameters: CostEstimationParameters | None = None
    estimated_cost: float | None = None

    def output_ids(self) -> dict[str, str]:
        """Output reality-data ids by format, for the outputs that have one."""
        return {o.format.value: o.id for o in self.job_settings.outputs or [] if o.id}


class JobResponse(WireModel):
    """Schema ``job-response``."""

    job: Job


class JobProgress(WireModel):
    """Schema ``jobProgress``: percentage, coarse state and current step of a job."""

    percentage: float | None = None
    state: ProgressState | None = None
    step: str | None = None

    @field_validator("state", mode="before")
    @classmethod
    def _state_any_case(cls, value: Any) -> Any:
        # SDK mocks and old service versions report lowercase progress states.
        if isinstance(value, str):
            for member in ProgressState:
                if member.value.lower() == value.lower():
                    return member
        return value


class JobProgressResponse(WireModel):
    """Schema ``jobProgress-response``."""

    job_progress: JobProgress


class Link(WireModel):
    """Schema ``link``."""

    href: str | None = None


class NextPageLink(WireModel):
    """Schema ``next-page-link``."""

    next: Link | None = None


class JobsResponse(WireModel):
    """Schema ``jobs-response``: one page of ``GET /jobs``."""

    model_config = ConfigDict(alias_generator=None)

    jobs: list[Job] | None = None
    links: NextPageLink | None = Field(default=None, alias="_links")


class Workspace(WireModel):
    """Schema ``workspace``."""

    id: str
    created_date_time: datetime
    name: str
    i_twin_id: str | None = Field(default=None, alias="iTwinId")
    context_capture_version: str | None = None


class WorkspaceResponse(WireModel):
    """Schema ``workspace-response``."""

    workspace: Workspace


class EnginesLimit(WireModel):
    """Schema ``enginesLimit``."""

    max_engines: int | None = None


class EnginesLimitResponse(WireModel):
    """Schema ``enginesLimit-response``."""

    engines_limit: EnginesLimit | None = None
