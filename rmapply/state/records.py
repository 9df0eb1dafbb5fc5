"""The lines of the journal: a header, then intents, results and resolutions (see docs/state.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from rmapply import __version__
from rmapply.state.document import PendingOperation, ResourceRecord

JOURNAL_FORMAT_VERSION = 1

Outcome = Literal["ok", "failed", "unknown"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class JournalHeader(_Record):
    """First line: which state this journal extends (lineage) and from which serial."""

    kind: Literal["journal"] = "journal"
    format: int = JOURNAL_FORMAT_VERSION
    lineage: str
    base_serial: int
    created_at: datetime
    rmapply_version: str = __version__


class IntentRecord(_Record):
    """Written and fsynced before an API call that changes something."""

    kind: Literal["intent"] = "intent"
    seq: int
    address: str
    action: str  # "create", "submit", "delete", ...
    request_digest: str = ""
    # what identifies the request remotely: name, iTwinId, workspaceId, remote id...
    details: dict[str, Any] = Field(default_factory=dict)
    at: datetime

    def as_pending(self) -> PendingOperation:
        """The pending operation this intent becomes when its outcome is unknown."""
        return PendingOperation(
            address=self.address,
            action=self.action,
            request_digest=self.request_digest,
            sent_at=self.at,
            details=dict(self.details),
            journal_seq=self.seq,
        )


class ResultRecord(_Record):
    """Written and fsynced after the call: what to change in the state (remove, then upsert)."""

    kind: Literal["result"] = "result"
    seq: int
    outcome: Outcome
    upsert: ResourceRecord | None = None
    remove: str | None = None
    # kept when the outcome is unknown; derived from the intent when not given
    pending: PendingOperation | None = None
    error: str | None = None
    at: datetime


class ResolveRecord(_Record):
    """A pending operation settled without a changing call (adopted, dropped or forgotten)."""

    kind: Literal["resolve"] = "resolve"
    address: str
    upsert: ResourceRecord | None = None
    remove: str | None = None
    at: datetime


JournalEntry = IntentRecord | ResultRecord | ResolveRecord

# built on first use: a plan that finds no journal never needs it
ENTRY_ADAPTER: TypeAdapter[JournalEntry] = TypeAdapter(
    Annotated[JournalEntry, Field(discriminator="kind")], config=ConfigDict(defer_build=True)
)
