"""What exists, durably: the state document, its store, the lock and the journal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmapply.lazy_exports import exported_on_first_use

if TYPE_CHECKING:
    from rmapply.state.binding import Binding, BoundStateStore, check_binding, normalise_endpoint
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
    from rmapply.state.journal import journal_path
    from rmapply.state.journal_writer import Journal
    from rmapply.state.local_session import LocalStateSession
    from rmapply.state.lock import LockHolder, read_holder
    from rmapply.state.records import IntentRecord, Outcome, ResolveRecord, ResultRecord
    from rmapply.state.restore import Restored
    from rmapply.state.statefile import backup_path
    from rmapply.state.store import (
        JournalWriter,
        LocalStateStore,
        StateSession,
        StateStore,
    )
    from rmapply.state.traces import StateTraces
    from rmapply.state.versions import StateVersion, versions_path


# Each name is imported from its module on first use (PEP 562): a command imports only the
# modules it uses, e.g. a plan that only reads the state never imports the lock or restore.
_MODULES = {
    "Binding": "rmapply.state.binding",
    "BoundStateStore": "rmapply.state.binding",
    "check_binding": "rmapply.state.binding",
    "normalise_endpoint": "rmapply.state.binding",
    "STATE_FORMAT_VERSION": "rmapply.state.document",
    "LostRequest": "rmapply.state.document",
    "PendingOperation": "rmapply.state.document",
    "ReplacedId": "rmapply.state.document",
    "ResourceRecord": "rmapply.state.document",
    "StateDocument": "rmapply.state.document",
    "forget_intent": "rmapply.state.edit",
    "forget_resource": "rmapply.state.edit",
    "list_addresses": "rmapply.state.edit",
    "list_pending": "rmapply.state.edit",
    "move_resource": "rmapply.state.edit",
    "show_record": "rmapply.state.edit",
    "Journal": "rmapply.state.journal_writer",
    "journal_path": "rmapply.state.journal",
    "LockHolder": "rmapply.state.lock",
    "read_holder": "rmapply.state.lock",
    "IntentRecord": "rmapply.state.records",
    "Outcome": "rmapply.state.records",
    "ResolveRecord": "rmapply.state.records",
    "ResultRecord": "rmapply.state.records",
    "Restored": "rmapply.state.restore",
    "backup_path": "rmapply.state.statefile",
    "JournalWriter": "rmapply.state.store",
    "LocalStateSession": "rmapply.state.local_session",
    "LocalStateStore": "rmapply.state.store",
    "StateSession": "rmapply.state.store",
    "StateStore": "rmapply.state.store",
    "StateTraces": "rmapply.state.traces",
    "StateVersion": "rmapply.state.versions",
    "versions_path": "rmapply.state.versions",
}


if not TYPE_CHECKING:  # mypy sees the imports above (and still flags a name not among them)
    __getattr__ = exported_on_first_use(__name__, _MODULES, globals())


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
