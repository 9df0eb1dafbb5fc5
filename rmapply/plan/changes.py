"""The actions that change something: created on first use (a no-op plan builds only NoOp and
never creates these classes); imported from rmapply.plan.actions as before."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from rmapply.plan.actions import (
    Action,
    NoOp,
    Record,
    ReplaceJob,
    UpdateJob,
    _check_body,
    _Resolvable,
)
from rmapply.plan.values import (
    CANCEL_PATCH,
    SUBMIT_PATCH,
    ActionType,
    JobPatchBody,
    Upstream,
    WorkspaceCreationBody,
)


class CreateWorkspace(Action):
    """POST /workspaces; ``previous_id`` is set when the old workspace vanished (404)."""

    kind: Literal["workspace"] = "workspace"
    action: Literal[ActionType.CREATE] = ActionType.CREATE
    request: WorkspaceCreationBody
    previous_id: str | None = None


class ReplaceWorkspace(Action):
    """POST /workspaces for a workspace that cannot be changed; the old one is kept remotely."""

    kind: Literal["workspace"] = "workspace"
    action: Literal[ActionType.REPLACE] = ActionType.REPLACE
    request: WorkspaceCreationBody
    old_remote_id: str


class DeleteWorkspace(Action):
    """DELETE /workspaces/{id} (no body)."""

    kind: Literal["workspace"] = "workspace"
    action: Literal[ActionType.DELETE] = ActionType.DELETE
    remote_id: str


class CreateJob(_Resolvable):
    """POST /jobs, then (``submit``) PATCH ``submit_request``; ``previous_id`` after a 404."""

    kind: Literal["job"] = "job"
    action: Literal[ActionType.CREATE] = ActionType.CREATE
    previous_id: str | None = None


class SubmitJob(Action):
    """PATCH /jobs/{id} ``{"state": "Active"}``; ``waiting_for`` names the upstream jobs not in
    success when planned (reasonCode ``waiting-for-inputs`` or ``upstream-failed``)."""

    kind: Literal["job"] = "job"
    action: Literal[ActionType.SUBMIT] = ActionType.SUBMIT
    remote_id: str
    request: JobPatchBody
    waiting_for: tuple[Upstream, ...] = ()

    def model_post_init(self, context: Any, /) -> None:
        """Refuse a submit body other than the one apply sends."""
        super().model_post_init(context)
        _check_body("request", self.request, SUBMIT_PATCH)


class DeleteJob(Action):
    """DELETE /jobs/{id} of an unsubmitted job (no body)."""

    kind: Literal["job"] = "job"
    action: Literal[ActionType.DELETE] = ActionType.DELETE
    remote_id: str


class Forget(Action):
    """Drop the record from state; with ``request`` (a cancel) PATCH it first."""

    action: Literal[ActionType.FORGET] = ActionType.FORGET
    remote_id: str
    request: JobPatchBody | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Refuse a body other than the cancel apply sends before forgetting."""
        super().model_post_init(context)
        if self.request is not None:
            _check_body("request", self.request, CANCEL_PATCH)


ANY_ACTION_TYPES: tuple[type[Action], ...] = (
    CreateWorkspace,
    ReplaceWorkspace,
    DeleteWorkspace,
    CreateJob,
    ReplaceJob,
    UpdateJob,
    SubmitJob,
    DeleteJob,
    Forget,
    Record,
    NoOp,
)

_KIND_FREE = ("forget", "record", "noop")


def _action_tag(value: Any) -> str:
    if isinstance(value, dict):
        kind, action = value.get("kind"), str(value.get("action"))
    else:
        kind, action = value.kind, str(value.action)
    return action if action in _KIND_FREE else f"{kind}.{action}"


# the type of Plan.actions (rmapply.plan.result builds its schema from this on first use)
AnyAction = Annotated[
    Annotated[CreateWorkspace, Tag("workspace.create")]
    | Annotated[ReplaceWorkspace, Tag("workspace.replace")]
    | Annotated[DeleteWorkspace, Tag("workspace.delete")]
    | Annotated[CreateJob, Tag("job.create")]
    | Annotated[ReplaceJob, Tag("job.replace")]
    | Annotated[UpdateJob, Tag("job.update")]
    | Annotated[SubmitJob, Tag("job.submit")]
    | Annotated[DeleteJob, Tag("job.delete")]
    | Annotated[Forget, Tag("forget")]
    | Annotated[Record, Tag("record")]
    | Annotated[NoOp, Tag("noop")],
    Discriminator(_action_tag),
]

__all__ = [
    "ANY_ACTION_TYPES",
    "AnyAction",
    "CreateJob",
    "CreateWorkspace",
    "DeleteJob",
    "DeleteWorkspace",
    "Forget",
    "ReplaceWorkspace",
    "SubmitJob",
]
