"""The workspace body rmapply sends to the v1 API (the answers are in rmapply.wire.answers)."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

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
