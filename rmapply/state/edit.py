"""What `rmapply state ...` does: list, show, rm, mv and forget-intent, writers under the lock."""

from __future__ import annotations

from collections.abc import Iterable

from rmapply.errors import StateError
from rmapply.model.address import Address
from rmapply.state.document import PendingOperation, ResourceRecord, StateDocument
from rmapply.state.store import StateStore

_KIND_OF = {"jobs": "job", "workspaces": "workspace"}


def _not_found(store: StateStore, address: str, what: str, known: Iterable[str]) -> StateError:
    import difflib  # here, not at the top: start-up never needs it

    close = difflib.get_close_matches(address, list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "run 'rmapply state list' to see them"
    return StateError(f"{address} has no {what} in state file {store.location}", hint=hint)


def _record(store: StateStore, document: StateDocument, address: str) -> ResourceRecord:
    record = document.resources.get(address)
    if record is not None:
        return record
    if address in document.pending:
        raise StateError(
            f"{address} has no resource in state file {store.location}, only a pending "
            "operation of unknown outcome",
            hint=f"see it with 'rmapply state list'; drop it with 'rmapply state forget-intent "
            f"{address}'",
        )
    raise _not_found(store, address, "resource", document.resources)


def list_addresses(store: StateStore) -> list[str]:
    """The addresses of the resources in state, sorted (read-only)."""
    return sorted(store.load().resources)


def list_pending(store: StateStore) -> list[PendingOperation]:
    """The pending operations of unknown outcome, by address (read-only)."""
    pending = store.load().pending
    return [pending[address] for address in sorted(pending)]


def show_record(store: StateStore, address: str) -> ResourceRecord:
    """The record at ``address`` (read-only); StateError naming a close match if absent."""
    return _record(store, store.load(), address)


def forget_resource(
    store: StateStore, address: str, *, command: str = "state rm", timeout: float = 0.0
) -> ResourceRecord:
    """Remove ``address`` from state without touching the remote job; returns what was removed."""
    with store.lock(command, timeout) as session:
        document = session.document
        record = _record(store, document, address)
        del document.resources[address]
        session.save(document)
    return record


def _parse(address: str) -> Address:
    try:
        return Address.parse(address)
    except ValueError as exc:
        raise StateError(str(exc), hint="addresses look like 'jobs.site-a'") from exc


def move_resource(
    store: StateStore,
    source: str,
    destination: str,
    *,
    command: str = "state mv",
    timeout: float = 0.0,
) -> ResourceRecord:
    """Give the record at ``source`` the address ``destination`` (same kind); returns it."""
    target = _parse(destination)
    with store.lock(command, timeout) as session:
        document = session.document
        record = _record(store, document, source)
        if _KIND_OF[target.kind.value] != record.kind:
            raise StateError(
                f"cannot move {source} to {destination}: a {record.kind} stays a {record.kind}",
                hint=f"choose a destination that starts with '{source.partition('.')[0]}.'",
            )
        if destination in document.resources or destination in document.pending:
            raise StateError(
                f"cannot move {source} to {destination}: {destination} is already in state "
                f"file {store.location}",
                hint=f"remove it first with 'rmapply state rm {destination}' if it is stale",
            )
        if source in document.pending:
            raise StateError(
                f"cannot move {source}: it has a pending operation of unknown outcome",
                hint="run 'rmapply apply' to resolve it, or drop it with "
                f"'rmapply state forget-intent {source}'",
            )
        moved = record.model_copy(update={"address": destination})
        del document.resources[source]
        document.resources[destination] = moved
        session.save(document)
    return moved


def forget_intent(
    store: StateStore, address: str, *, command: str = "state forget-intent", timeout: float = 0.0
) -> PendingOperation:
    """Drop the pending operation at ``address`` (the user settled it); returns it."""
    with store.lock(command, timeout) as session:
        document = session.document
        operation = document.pending.get(address)
        if operation is None:
            raise _not_found(store, address, "pending operation", document.pending)
        del document.pending[address]
        session.save(document)
    return operation
