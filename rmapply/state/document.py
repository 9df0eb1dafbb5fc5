"""The state document: what rmapply knows exists, keyed by address (see docs/state.md)."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from rmapply import __version__

# 2: `endpoint` and `itwin_id` (the state knows where it lives); a version 1 file reads as an
# unbound version 2 one and is written back as version 2
STATE_FORMAT_VERSION = 2

# The validation context of a document whose objects were just parsed from JSON
# (rmapply/state/statefile.py): plain dicts with string keys that nothing else holds.
FRESH_JSON: dict[str, bool] = {"fresh_json": True}


class _StateModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class ReplacedId(_StateModel):
    """A remote id this resource had before it was replaced or re-created."""

    id: str
    replaced_at: datetime
    reason: str = ""
    last_state: str | None = None  # job state when it was let go, e.g. "success"
    # --cancel-replaced: "requested" until the cancel is carried out (by this apply or a later
    # one, once the replacement is submitted), then "done"; None when no cancel was asked for
    cancel: Literal["requested", "done"] | None = None


class LostRequest(_StateModel):
    """A create whose answer was lost and that was sent again: what it may have left behind
    (a workspace of this name, unused; workspaces cost nothing and cannot be listed)."""

    action: str = "create"
    name: str | None = None
    sent_at: datetime
    request_digest: str = ""


def _no_items() -> list[Any]:
    # a Python function, not ``list``: pydantic reads the factory's signature when it builds the
    # validator, and a builtin's is parsed from its text (tokenize, ~3 ms the first time)
    return []


class ResourceRecord(_StateModel):
    """One managed resource: its remote id, what it was applied from, and what was last seen."""

    address: str  # "jobs.site-a"
    kind: Literal["job", "workspace"]
    remote_id: str
    # the desired spec (JobSpec or WorkspaceSpec as wire JSON) last applied, and its digest
    spec: dict[str, Any] = Field(default_factory=dict)
    digest: str = ""
    # for jobs: the workspace id the job was created in (resolved from `workspace` or `workspaceId`)
    workspace_id: str | None = None
    # the last remote object seen (Job or Workspace wire JSON: state, executionInformation, cost)
    remote: dict[str, Any] | None = None
    # output reality-data ids by format, e.g. {"OBJ": "3dde..."}
    outputs: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None = None
    history: list[ReplacedId] = Field(default_factory=_no_items)
    # creates of this address whose answer was lost before it was created again
    lost_requests: list[LostRequest] = Field(default_factory=_no_items)

    @field_validator("spec", "remote", mode="wrap")
    @classmethod
    def _fresh_json_object(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        # A JSON object just parsed is a dict[str, Any] already, and nothing else holds it:
        # kept as it is instead of copied (a fifth of the validation of a state of 1,000 jobs).
        # Any other input, and every input outside that context, is validated as declared.
        if info.context is FRESH_JSON and type(value) is dict:
            return value
        return handler(value)

    @property
    def job_state(self) -> str | None:
        """The job state last seen (``unsubmitted``, ``active``, ...), or None for a workspace."""
        if self.kind != "job" or not self.remote:
            return None
        state = self.remote.get("state")
        return str(state) if state is not None else None


class PendingOperation(_StateModel):
    """A change whose request was sent but whose answer never came (outcome unknown).

    It stays here, shown by every plan, until it is resolved: adopted (exactly one matching job
    found), dropped (none found), or settled by `rmapply import` or `rmapply state forget-intent`.
    """

    address: str
    action: str  # "create", "submit", "delete", ...
    request_digest: str
    sent_at: datetime
    # what identifies the request remotely: name, iTwinId, workspaceId, remote id for submit...
    details: dict[str, Any] = Field(default_factory=dict)
    journal_seq: int | None = None


class StateDocument(_StateModel):
    """The whole state file."""

    version: int = STATE_FORMAT_VERSION
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()))
    serial: int = 0
    rmapply_version: str = __version__
    # where the ids below mean something: the normalised endpoint (never user info or query) or
    # "local:" + the --local data path, and [project] iTwinId; None until bound (docs/state.md)
    endpoint: str | None = None
    itwin_id: str | None = None
    resources: dict[str, ResourceRecord] = Field(default_factory=dict)
    pending: dict[str, PendingOperation] = Field(default_factory=dict)  # keyed by address

    def get(self, address: str) -> ResourceRecord | None:
        """The record at ``address``, if any."""
        return self.resources.get(address)
