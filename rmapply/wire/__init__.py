"""The API vocabulary shared by client and emulator: models named after the OpenAPI schemas."""

from rmapply.wire.base import WireModel
from rmapply.wire.enums import (
    JobState,
    JobType,
    Location,
    OutputFormat,
    PatchState,
    ProgressState,
    Quality,
)
from rmapply.wire.jobs import (
    CacheSettings,
    CostEstimationParameters,
    ErrorWarningMessage,
    ExecutionInformation,
    Job,
    JobCreateSettings,
    JobCreation,
    JobInput,
    JobOutput,
    JobPatch,
    JobPatchSettings,
    JobProgress,
    JobProgressResponse,
    JobResponse,
    JobSettings,
    JobsResponse,
    Link,
    NextPageLink,
)
from rmapply.wire.problems import DetailedError, DetailedErrorResponse, ErrorDetail, ErrorResponse
from rmapply.wire.workspaces import (
    EnginesLimit,
    EnginesLimitResponse,
    Workspace,
    WorkspaceCreation,
    WorkspaceResponse,
)

API_MEDIA_TYPE = "application/vnd.bentley.itwin-platform.v1+json"
DEFAULT_ENDPOINT = "https://api.bentley.com/contextcapture"

__all__ = [
    "API_MEDIA_TYPE",
    "DEFAULT_ENDPOINT",
    "CacheSettings",
    "CostEstimationParameters",
    "DetailedError",
    "DetailedErrorResponse",
    "EnginesLimit",
    "EnginesLimitResponse",
    "ErrorDetail",
    "ErrorResponse",
    "ErrorWarningMessage",
    "ExecutionInformation",
    "Job",
    "JobCreateSettings",
    "JobCreation",
    "JobInput",
    "JobOutput",
    "JobPatch",
    "JobPatchSettings",
    "JobProgress",
    "JobProgressResponse",
    "JobResponse",
    "JobSettings",
    "JobState",
    "JobType",
    "JobsResponse",
    "Link",
    "Location",
    "NextPageLink",
    "OutputFormat",
    "PatchState",
    "ProgressState",
    "Quality",
    "WireModel",
    "Workspace",
    "WorkspaceCreation",
    "WorkspaceResponse",
]
