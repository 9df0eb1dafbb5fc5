"""Desired resources as a user writes them: the API creation fields plus reconciler fields."""

from __future__ import annotations

from pydantic import Field

from rmapply.wire import (
    CostEstimationParameters,
    JobCreateSettings,
    JobCreation,
    JobInput,
    JobType,
    WireModel,
    WorkspaceCreation,
)


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
    depends_on: list[str] = Field(default_factory=list, description="addresses applied first")
    retry_failed: bool = Field(default=False, description="re-create the job when it failed")

    def to_creation(self, workspace_id: str) -> JobCreation:
        """The exact ``POST /jobs`` body, with the workspace resolved to its id."""
        return JobCreation(
            type=self.type,
            name=self.name,
            workspace_id=workspace_id,
            inputs=list(self.inputs),
            settings=self.settings,
            cost_estimation_parameters=self.cost_estimation_parameters,
        )


RECONCILER_FIELDS = frozenset({"workspace", "submit", "dependsOn", "retryFailed"})
