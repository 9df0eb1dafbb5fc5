"""Replay: fold journal entries into a state document (pure: values in, the document out)."""

from __future__ import annotations

from collections.abc import Iterable

from rmapply.state.document import ResourceRecord, StateDocument
from rmapply.state.records import IntentRecord, JournalEntry, ResolveRecord, ResultRecord


def _change(document: StateDocument, upsert: ResourceRecord | None, remove: str | None) -> None:
    # remove first, so that one record can move a resource (remove old address, upsert new)
    if remove is not None:
        document.resources.pop(remove, None)
    if upsert is not None:
        document.resources[upsert.address] = upsert


def apply_result(document: StateDocument, intent: IntentRecord, result: ResultRecord) -> None:
    """Apply one call's result to ``document`` in place.

    An ``unknown`` outcome keeps a pending operation: the one given, else the intent itself.
    """
    _change(document, result.upsert, result.remove)
    pending = result.pending
    if pending is None and result.outcome == "unknown":
        pending = intent.as_pending()
    if pending is not None:
        document.pending[pending.address] = pending


def apply_resolve(document: StateDocument, resolve: ResolveRecord) -> None:
    """Drop the pending operation at the address, then apply the change that settles it."""
    document.pending.pop(resolve.address, None)
    _change(document, resolve.upsert, resolve.remove)


def replay(
    document: StateDocument, entries: Iterable[JournalEntry], *, results_folded: bool = False
) -> StateDocument:
    """Fold ``entries`` into ``document`` (in place, returned); open intents become pending.

    ``results_folded`` says the document was written after these entries (a crash came between
    writing the state and clearing the journal): results are already in it, and only intents
    still open at that moment become pending operations.
    """
    open_intents: dict[int, IntentRecord] = {}
    for entry in entries:
        if isinstance(entry, IntentRecord):
            open_intents[entry.seq] = entry
        elif isinstance(entry, ResultRecord):
            intent = open_intents.pop(entry.seq)
            if not results_folded:
                apply_result(document, intent, entry)
        elif not results_folded:
            apply_resolve(document, entry)
    for intent in open_intents.values():
        document.pending[intent.address] = intent.as_pending()
    return document
