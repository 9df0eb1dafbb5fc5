"""What exists, durably: the state document, its store, the lock and the journal."""

from rmapply.state.binding import (
    Binding,
    BoundStateStore,
    check_binding,
    normalise_endpoint,
)
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
from rmapply.state.restore import Restored
from rmapply.state.statefile import backup_path
from rmapply.state.store import (
    JournalWriter,
    LocalStateSession,
    LocalStateStore,
    StateSession,
    StateStore,
)
from rmapply.state.traces import StateTraces
from rmapply.state.versions import StateVersion, versions_path

__all__ = [
    "STATE_FORMAT_VERSION",
    "Binding",
    "BoundStateStore",
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
    "Restored",
    "ResultRecord",
    "StateDocument",
    "StateSession",
    "StateStore",
    "StateTraces",
    "StateVersion",
    "backup_path",
    "check_binding",
    "forget_intent",
    "forget_resource",
    "journal_path",
    "list_addresses",
    "list_pending",
    "move_resource",
    "normalise_endpoint",
    "read_holder",
    "show_record",
    "versions_path",
]
