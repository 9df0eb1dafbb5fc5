"""What exists, durably: the state document, its store, the lock and the journal."""

from rmapply.state.document import (
    STATE_FORMAT_VERSION,
    LostRequest,
    PendingOperation,
    ReplacedId,
    ResourceRecord,
    StateDocument,
)
from rmapply.state.edit import (
    forget_intent,
    forget_resource,
    list_addresses,
    list_pending,
    move_resource,
    show_record,
)
from rmapply.state.journal import Journal, journal_path
from rmapply.state.lock import LockHolder, read_holder
from rmapply.state.records import IntentRecord, Outcome, ResolveRecord, ResultRecord
from rmapply.state.statefile import backup_path
from rmapply.state.store import (
    JournalWriter,
    LocalStateSession,
    LocalStateStore,
    StateSession,
    StateStore,
)

__all__ = [
    "STATE_FORMAT_VERSION",
    "IntentRecord",
    "Journal",
    "JournalWriter",
    "LocalStateSession",
    "LocalStateStore",
    "LockHolder",
    "LostRequest",
    "Outcome",
    "PendingOperation",
    "ReplacedId",
    "ResolveRecord",
    "ResourceRecord",
    "ResultRecord",
    "StateDocument",
    "StateSession",
    "StateStore",
    "backup_path",
    "forget_intent",
    "forget_resource",
    "journal_path",
    "list_addresses",
    "list_pending",
    "move_resource",
    "read_holder",
    "show_record",
]
