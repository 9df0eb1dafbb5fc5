"""Workspace and engines-limit bodies of the v1 API."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from rmapply.wire.base import WireModel


class WorkspaceCreation(WireModel):
    """Schema ``workspaceCreation``: the body of ``POST /workspaces``.

    ``contextCaptureVersion`` is not in the schema, but Bentley's SDKs send it and the service
    echoes it on the workspace, so it is accepted here (see docs/emulator.md).
    """

    name: str
    i_twin_id: str | None = Field(default=None, alias="iTwinId")
    context_capture_version: str | None = None


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
