"""How apply writes to the state: journal intent before a call, result after it, records built
from what the service answered, and a checkpoint now and then during a long apply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rmapply.errors import RmapplyError
from rmapply.model import digest
from rmapply.state import (
    PendingOperation,
    ReplacedId,
    ResourceRecord,
    StateDocument,
    StateSession,
)
from rmapply.wire import Job, Workspace

# a long apply rewrites the state file this often, so the journal never grows without bound
CHECKPOINT_EVERY_SECONDS = 30.0


class Recorder:
    """The one door from apply to the state session; safe to use from every worker thread."""

    def __init__(
        self,
        session: StateSession,
        *,
        now: Callable[[], datetime],
        checkpoint_every: float = CHECKPOINT_EVERY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.now = now
        self._checkpoint_every = checkpoint_every
        self._monotonic = monotonic
        self._last_checkpoint = monotonic()
        self._lock = threading.Lock()
        # workspaces are read by every job create: kept here so that reading them never waits
        # for the journal (which is busy writing the other workers' records)
        self._workspace_lock = threading.Lock()
        self._workspaces: dict[str, tuple[str, str | None]] = {}
        with self.session.lock:  # guards the document while workers record
            for record in session.document.resources.values():
                self._note_workspace(record.address, record)

    # -- reading --------------------------------------------------------------------------

    def record(self, address: str) -> ResourceRecord | None:
        """The record at ``address`` as of now."""
        return self.session.document.resources.get(address)

    def pending(self, address: str) -> PendingOperation | None:
        """The pending operation of unknown outcome at ``address``, if any."""
        return self.session.document.pending.get(address)

    def workspace_ids(self) -> dict[str, str]:
        """Remote ids of the workspaces in state, by address (including ones created now)."""
        with self._workspace_lock:
            return {a: remote_id for a, (remote_id, _) in self._workspaces.items()}

    def workspace_itwin(self, workspace_id: str) -> str | None:
        """The iTwin of the workspace with ``workspace_id`` in state, if known."""
        with self._workspace_lock:
            for remote_id, itwin in self._workspaces.values():
                if remote_id == workspace_id:
                    return itwin
        return None

    def snapshot(self) -> StateDocument:
        """A copy of the state as of now that other workers cannot change underneath; calls
        still in flight count as pending in it (their outcome is not known yet either)."""
        with self.session.lock:  # guards the document while workers record
            document = self.session.document
            pending = dict(document.pending)
            for intent in self.session.journal.open_intents.values():
                pending.setdefault(intent.address, intent.as_pending())
            return document.model_copy(
                update={"resources": dict(document.resources), "pending": pending}
            )

    # -- writing --------------------------------------------------------------------------

    def intent(
        self, address: str, action: str, body: Any = None, details: dict[str, Any] | None = None
    ) -> int:
        """Journal that a changing call for ``address`` is about to be sent; its seq."""
        request_digest = digest(body) if body is not None else ""
        return self.session.journal.intent(
            address, action, request_digest=request_digest, details=details, now=self.now()
        )

    def done(
        self, seq: int, *, upsert: ResourceRecord | None = None, remove: str | None = None
    ) -> None:
        """Journal a call's success and what it changed."""
        self.session.journal.result(seq, upsert=upsert, remove=remove, now=self.now())
        self._note_change(upsert, remove)
        self._maybe_checkpoint()

    def failed(self, seq: int, error: RmapplyError) -> None:
        """Journal that a call certainly changed nothing (the service refused it, or it never
        left this machine)."""
        self.session.journal.result(seq, outcome="failed", error=error.message, now=self.now())

    def unknown(self, seq: int, error: RmapplyError) -> None:
        """Journal that a call's answer was lost: the intent stays as a pending operation."""
        self.session.journal.result(seq, outcome="unknown", error=error.message, now=self.now())

    def resolve(
        self, address: str, *, upsert: ResourceRecord | None = None, remove: str | None = None
    ) -> None:
        """Settle the pending operation at ``address`` (adopted: ``upsert``; not done: nothing)."""
        self.session.journal.resolve(address, upsert=upsert, remove=remove, now=self.now())
        self._note_change(upsert, remove)

    def adopt(self, address: str, record: ResourceRecord) -> bool:
        """Settle the lost create at ``address`` with ``record``, unless another address holds
        its remote id already (then False, and nothing is written): one job, one address."""
        with self.session.lock:  # guards the document while workers record
            for other in self.session.document.resources.values():
                if other.address == address:
                    continue
                if other.remote_id == record.remote_id or any(
                    h.id == record.remote_id for h in other.history
                ):
                    return False
            self.resolve(address, upsert=record)
        return True

    def observe(self, address: str, job: Job) -> None:
        """Record a job as just read (status, wait): state, execution information, outputs."""
        record = self.record(address)
        if record is None or record.remote_id != job.id:
            return
        seq = self.intent(address, "observe", details={"remoteId": job.id})
        self.done(seq, upsert=observed(record, job, self.now()))

    def checkpoint(self) -> None:
        """Rewrite the state file from state + journal now."""
        with self._lock:
            self.session.checkpoint()
            self._last_checkpoint = self._monotonic()

    def _note_change(self, upsert: ResourceRecord | None, remove: str | None) -> None:
        if remove is not None:
            with self._workspace_lock:
                self._workspaces.pop(remove, None)
        if upsert is not None:
            self._note_workspace(upsert.address, upsert)

    def _note_workspace(self, address: str, record: ResourceRecord) -> None:
        if record.kind != "workspace":
            return
        itwin = (record.remote or {}).get("iTwinId") or record.spec.get("iTwinId")
        with self._workspace_lock:
            self._workspaces[address] = (record.remote_id, str(itwin) if itwin else None)

    def _maybe_checkpoint(self) -> None:
        if self._monotonic() - self._last_checkpoint < self._checkpoint_every:
            return
        if not self._lock.acquire(blocking=False):
            return  # another worker is writing it right now
        try:
            self.session.checkpoint()
            self._last_checkpoint = self._monotonic()
        finally:
            self._lock.release()


def _history(previous: ResourceRecord | None, retired: ReplacedId | None) -> list[ReplacedId]:
    """The ids the address had before, with ``retired`` (the one let go now) added."""
    history = list(previous.history) if previous else []
    if retired is not None:
        history.append(retired)
    return history


def job_record(
    address: str,
    job: Job,
    *,
    spec: dict[str, Any] | None,
    spec_digest: str | None,
    now: datetime,
    previous: ResourceRecord | None = None,
    retired: ReplacedId | None = None,
) -> ResourceRecord:
    """The record of a job the service just returned: id, outputs, the job as answered."""
    history = _history(previous, retired)
    created = previous.created_at if previous and previous.remote_id == job.id else now
    return ResourceRecord(
        address=address,
        kind="job",
        remote_id=job.id,
        spec=dict(spec) if spec is not None else (previous.spec if previous else {}),
        digest=spec_digest if spec_digest is not None else (previous.digest if previous else ""),
        workspace_id=job.workspace_id,
        remote=job.to_wire(),
        outputs=job.output_ids(),
        created_at=created,
        updated_at=now,
        refreshed_at=now,
        history=history,
    )


def workspace_record(
    address: str,
    workspace: Workspace,
    *,
    spec: dict[str, Any] | None,
    spec_digest: str | None,
    now: datetime,
    previous: ResourceRecord | None = None,
    retired: ReplacedId | None = None,
) -> ResourceRecord:
    """The record of a workspace the service just returned."""
    history = _history(previous, retired)
    return ResourceRecord(
        address=address,
        kind="workspace",
        remote_id=workspace.id,
        spec=dict(spec or {}),
        digest=spec_digest or "",
        remote=workspace.to_wire(),
        created_at=now,
        updated_at=now,
        refreshed_at=now,
        history=history,
    )


def observed(record: ResourceRecord, job: Job, now: datetime) -> ResourceRecord:
    """``record`` with the job as just read (the spec applied is unchanged)."""
    outputs = current_outputs(job, record.outputs)
    return record.model_copy(
        update={"remote": job.to_wire(), "outputs": outputs, "refreshed_at": now}
    )


def current_outputs(job: Job, known: dict[str, str]) -> dict[str, str]:
    """Output ids by format for the formats the job requests now; an id the service does not
    report (null) keeps the one known before."""
    requested = [o.format.value for o in job.job_settings.outputs or []]
    ids = job.output_ids()
    return {f: ids.get(f) or known[f] for f in requested if ids.get(f) or f in known}


def retired_id(
    remote_id: str,
    now: datetime,
    reason: str,
    last_state: str | None,
) -> ReplacedId:
    """A history entry for an id this address no longer points at."""
    return ReplacedId(id=remote_id, replaced_at=now, reason=reason, last_state=last_state)


def with_history_state(
    record: ResourceRecord, remote_id: str, last_state: str, *, cancelled: bool = False
) -> ResourceRecord:
    """``record`` with the history entry of ``remote_id`` saying how it was let go (and, with
    ``cancelled``, that the cancel asked for it was carried out)."""
    update: dict[str, Any] = {"last_state": last_state}
    if cancelled:
        update["cancel"] = "done"
    history = [h.model_copy(update=update) if h.id == remote_id else h for h in record.history]
    return record.model_copy(update={"history": history})


def requested_cancels(document: StateDocument) -> list[tuple[str, str]]:
    """(address, old job id) of every replaced job whose cancel was asked for and not done."""
    return sorted(
        (record.address, entry.id)
        for record in document.resources.values()
        for entry in record.history
        if entry.cancel == "requested"
    )
