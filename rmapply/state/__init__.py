"""What exists, durably: the state document, its store, the lock and the journal."""

from rmapply.state.document import (
    STATE_FORMAT_VERSION,
    PendingOperation,
    ReplacedId,
    ResourceRecord,
    StateDocument,
)

__all__ = [
    "STATE_FORMAT_VERSION",
    "PendingOperation",
    "ReplacedId",
    "ResourceRecord",
    "StateDocument",
]
