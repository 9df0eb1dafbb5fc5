"""The API vocabulary shared by client and emulator: models named after the OpenAPI schemas."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmapply.lazy_exports import exported_on_first_use

if TYPE_CHECKING:
    from rmapply.wire.answers import (
        EnginesLimit,
        EnginesLimitResponse,
        ErrorWarningMessage,
        ExecutionInformation,
        Job,
        JobOutput,
        JobProgress,
        JobProgressResponse,
        JobResponse,
        JobSettings,
        JobsResponse,
        Link,
        NextPageLink,
        Workspace,
        WorkspaceResponse,
    )
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
    from rmapply.wire.job_creation import JobCreation
    from rmapply.wire.jobs import (
        CacheSettings,
        CostEstimationParameters,
        JobCreateSettings,
        JobInput,
        JobPatch,
        JobPatchSettings,
    )
    from rmapply.wire.problems import (
        DetailedError,
        DetailedErrorResponse,
        ErrorDetail,
        ErrorResponse,
    )
    from rmapply.wire.workspaces import WorkspaceCreation

API_MEDIA_TYPE = "application/vnd.bentley.itwin-platform.v1+json"
DEFAULT_ENDPOINT = "https://api.bentley.com/contextcapture"

# Each name is imported from its module on first use (PEP 562): a command imports only the
# modules it uses, e.g. a plan that reads nothing never builds the models of the answers.
_MODULES = {
    "WireModel": "rmapply.wire.base",
    "JobState": "rmapply.wire.enums",
    "JobType": "rmapply.wire.enums",
    "Location": "rmapply.wire.enums",
    "OutputFormat": "rmapply.wire.enums",
    "PatchState": "rmapply.wire.enums",
    "ProgressState": "rmapply.wire.enums",
    "Quality": "rmapply.wire.enums",
    "CacheSettings": "rmapply.wire.jobs",
    "CostEstimationParameters": "rmapply.wire.jobs",
    "ErrorWarningMessage": "rmapply.wire.answers",
    "ExecutionInformation": "rmapply.wire.answers",
    "Job": "rmapply.wire.answers",
    "JobCreateSettings": "rmapply.wire.jobs",
    "JobCreation": "rmapply.wire.job_creation",
    "JobInput": "rmapply.wire.jobs",
    "JobOutput": "rmapply.wire.answers",
    "JobPatch": "rmapply.wire.jobs",
    "JobPatchSettings": "rmapply.wire.jobs",
    "JobProgress": "rmapply.wire.answers",
    "JobProgressResponse": "rmapply.wire.answers",
    "JobResponse": "rmapply.wire.answers",
    "JobSettings": "rmapply.wire.answers",
    "JobsResponse": "rmapply.wire.answers",
    "Link": "rmapply.wire.answers",
    "NextPageLink": "rmapply.wire.answers",
    "DetailedError": "rmapply.wire.problems",
    "DetailedErrorResponse": "rmapply.wire.problems",
    "ErrorDetail": "rmapply.wire.problems",
    "ErrorResponse": "rmapply.wire.problems",
    "EnginesLimit": "rmapply.wire.answers",
    "EnginesLimitResponse": "rmapply.wire.answers",
    "Workspace": "rmapply.wire.answers",
    "WorkspaceCreation": "rmapply.wire.workspaces",
    "WorkspaceResponse": "rmapply.wire.answers",
}


if not TYPE_CHECKING:  # mypy sees the imports above (and still flags a name not among them)
    __getattr__ = exported_on_first_use(__name__, _MODULES, globals())


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
