"""A writer's session that lets go of the lock while its command only waits, and takes it again
to record: ``apply --wait`` over a chain that runs for hours must not keep the team's state
locked. Built on ``StateStore.lock`` alone, so every backend has it."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from rmapply.state.document import StateDocument
from rmapply.state.store import JournalWriter, StateSession, StateStore

# how long taking the lock back may wait for another command's session (a plan, an apply)
DEFAULT_RETAKE_TIMEOUT = 300.0


class LeasedSession:
    """A StateSession (``lease_lock``) with ``release`` and ``retake``; any use of the
    document, the journal or a write takes the lock back first."""

    def __init__(
        self, store: StateStore, command: str, timeout: float, retake_timeout: float
    ) -> None:
        self._store = store
        self._command = command
        self._timeout = timeout
        self._retake_timeout = max(timeout, retake_timeout)
        self._swap = threading.RLock()  # guards the current session and its context
        self._context: AbstractContextManager[StateSession] | None = None
        self._session: StateSession | None = None
        self._last: StateDocument | None = None  # the document as written at release
        self._idle_lock = threading.RLock()  # the lock handed out while released (reads only)
        self.released_count = 0  # how often the lock was let go (tests and figures)

    # -- the lease ----------------------------------------------------------------------------

    def __enter__(self) -> LeasedSession:
        self._take(self._timeout)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._swap:
            context, self._context, self._session = self._context, None, None
        if context is not None:
            context.__exit__(kind, exc, traceback)

    @property
    def held(self) -> bool:
        """True while this command holds the lock."""
        return self._session is not None

    def release(self) -> None:
        """Write the state and let go of the lock (a no-op when already released); the caller
        makes sure no call is being recorded meanwhile."""
        with self._swap:
            if self._session is not None:
                self._last = self._session.document
            context, self._context, self._session = self._context, None, None
            if context is None:
                return
            context.__exit__(None, None, None)  # closing checkpoints what was recorded
            self.released_count += 1

    def retake(self) -> StateSession:
        """Hold the lock again (waiting for another writer up to the retake timeout); the
        document is read again, with what other commands wrote meanwhile."""
        with self._swap:
            if self._session is None:
                self._take(self._retake_timeout)
            assert self._session is not None
            return self._session

    def _take(self, timeout: float) -> None:
        context = self._store.lock(self._command, timeout)
        session = context.__enter__()
        self._context, self._session = context, session

    # -- StateSession, by delegation -------------------------------------------------------------

    @property
    def document(self) -> StateDocument:
        """The state as of now; while released, as it was written at release (reading needs
        no lock: what others write meanwhile is read when the lock is taken back)."""
        with self._swap:
            if self._session is None and self._last is not None:
                return self._last
        return self.retake().document

    @property
    def journal(self) -> JournalWriter:
        """Where intents and results are recorded (under the lock)."""
        return self.retake().journal

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """The current session's re-entrant lock (while released, one for reading only)."""
        with self._swap:
            if self._session is None and self._last is not None:
                return self._idle_lock
        return self.retake().lock

    def adopt_lineage(self, lineage: str) -> None:
        """As StateSession.adopt_lineage."""
        self.retake().adopt_lineage(lineage)

    def checkpoint(self) -> None:
        """As StateSession.checkpoint (nothing to write while released: release wrote it)."""
        with self._swap:
            if self._session is not None:
                self._session.checkpoint()

    def save(self, document: StateDocument) -> None:
        """As StateSession.save."""
        self.retake().save(document)


def lease_lock(
    store: StateStore,
    command: str,
    timeout: float = 0.0,
    *,
    retake_timeout: float = DEFAULT_RETAKE_TIMEOUT,
) -> LeasedSession:
    """``with lease_lock(store, "apply") as session:`` as ``store.lock``, plus
    ``session.release()`` / ``session.retake()``."""
    return LeasedSession(store, command, timeout, retake_timeout)


def _leased_session_is_a_state_session(session: LeasedSession) -> StateSession:
    return session  # mypy proves here that the lease implements the session interface
