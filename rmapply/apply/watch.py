"""Jobs as they are now: ``rmapply status`` (read only) and waiting from the state alone
(``apply --wait`` inside the apply's session, ``rmapply wait`` in a later process)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rmapply.apply.backoff import PollSchedule
from rmapply.apply.events import EventSink, discard
from rmapply.apply.pipeline_status import InputsStatus
from rmapply.apply.recording import Recorder, observed
from rmapply.apply.waiting import JobWaiter, WaitOutcome, WaitTarget
from rmapply.client import RealityModelingClient
from rmapply.errors import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    StateError,
    StateLockedError,
)
from rmapply.refresh import not_the_api, proof_of_absence, refused_credentials
from rmapply.state import ResourceRecord, StateDocument, StateStore
from rmapply.wire import Job, JobProgress, JobState


@dataclass(frozen=True)
class JobStatus:
    """One job in state as the service reports it now (or why it could not be read)."""

    address: str
    job_id: str
    state: str | None
    percentage: float | None = None
    step: str | None = None
    estimated_cost: float | None = None
    outputs: dict[str, str] | None = None
    error: str | None = None
    recorded_state: str | None = None  # what the state file last saw
    gone: bool = False  # the error is the API's proof that the job no longer exists
    inputs: InputsStatus | None = None  # a pipeline stage still to submit: what it waits for

    @property
    def unread(self) -> bool:
        """True when the service could not tell this job's state (an error, not a proven 404)."""
        return self.state is None and not self.gone

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out: dict[str, Any] = {"address": self.address, "jobId": self.job_id, "state": self.state}
        for key, value in (
            ("percentage", self.percentage),
            ("step", self.step),
            ("estimatedCost", self.estimated_cost),
            ("outputs", self.outputs),
            ("error", self.error),
            ("recordedState", self.recorded_state),
            ("gone", self.gone or None),
        ):
            if value is not None:
                out[key] = value
        if self.inputs is not None:
            out.update(self.inputs.to_json())
        return out


def job_records(document: StateDocument, addresses: Sequence[str] = ()) -> list[ResourceRecord]:
    """The job records named (all jobs when none are named); StateError for unknown names."""
    jobs = {a: r for a, r in document.resources.items() if r.kind == "job"}
    if not addresses:
        return [jobs[a] for a in sorted(jobs)]
    missing = [a for a in addresses if a not in jobs]
    if missing:
        known = ", ".join(sorted(jobs)[:5]) or "none"
        raise StateError(
            f"not a job in state: {', '.join(missing)}",
            hint=f"jobs in state: {known}{', ...' if len(jobs) > 5 else ''} "
            "(see 'rmapply state list')",
        )
    return [jobs[a] for a in dict.fromkeys(addresses)]


def collect_status(
    records: Sequence[ResourceRecord], client: RealityModelingClient, *, parallelism: int = 8
) -> list[JobStatus]:
    """Read every job (and the progress of running ones) with bounded parallelism.

    Refused credentials and a 404 that is not the API's raise: nothing read is worth showing.
    """

    def read(record: ResourceRecord) -> JobStatus:
        try:
            job = client.get_job(record.remote_id)
            progress: JobProgress | None = None
            if job.state is JobState.ACTIVE:
                progress = client.get_progress(record.remote_id)
        except AuthenticationError as exc:
            raise refused_credentials(client.base_url, exc) from exc
        except NotFoundError as exc:
            proof = proof_of_absence(exc, "job")
            if proof is None:
                raise not_the_api(client.base_url, exc, "JobNotFound") from exc
            return JobStatus(
                record.address,
                record.remote_id,
                None,
                error=f"gone: {proof}",
                recorded_state=record.job_state,
                gone=True,
            )
        except ApiError as exc:
            return JobStatus(
                record.address,
                record.remote_id,
                None,
                error=exc.message,
                recorded_state=record.job_state,
            )
        return JobStatus(
            record.address,
            job.id,
            job.state.value,
            percentage=progress.percentage
            if progress
            else (100.0 if job.state is JobState.SUCCESS else None),
            step=progress.step if progress else None,
            estimated_cost=job.estimated_cost,
            outputs=job.output_ids(),
            recorded_state=record.job_state,
        )

    if not records:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(records)))) as pool:
        return list(pool.map(read, records))


def running_targets(records: Sequence[ResourceRecord]) -> tuple[list[WaitTarget], list[str]]:
    """Jobs to wait for (last seen running), and those already settled (by address)."""
    targets, settled = [], []
    for record in records:
        if record.job_state in (
            JobState.SUCCESS,
            JobState.FAILED,
            JobState.CANCELLED,
            JobState.UNSUBMITTED,
        ):
            settled.append(record.address)
        else:
            targets.append(WaitTarget(record.address, record.remote_id))
    return targets, settled


def wait_for_jobs(
    recorder: Recorder,
    client: RealityModelingClient,
    addresses: Sequence[str],
    *,
    schedule: PollSchedule,
    parallelism: int,
    timeout: float | None,
    on_event: EventSink = discard,
    now: Callable[[], datetime],
) -> WaitOutcome:
    """Wait inside a held session (``apply --wait``): each final state is journalled at once."""
    records = [r for a in addresses if (r := recorder.record(a)) is not None]
    targets, _ = running_targets(records)
    waiter = JobWaiter(
        get_progress=client.get_progress,
        get_job=client.get_job,
        record=recorder.observe,
        schedule=schedule,
        parallelism=parallelism,
        on_event=on_event,
        now=now,
    )
    outcome = waiter.wait(targets, timeout=timeout)
    recorder.checkpoint()
    return outcome


class _Flusher:
    """Writes final states seen by ``rmapply wait`` into the state in short lock sessions, so a
    long wait never keeps another apply from running."""

    def __init__(
        self, store: StateStore, now: Callable[[], datetime], every: float, lock_timeout: float
    ) -> None:
        self.store = store
        self.now = now
        self.every = every
        self.lock_timeout = lock_timeout
        self.jobs: dict[str, Job] = {}
        self.last = time.monotonic()

    def add(self, address: str, job: Job) -> None:
        """Keep ``job``; write the batch if the last write is long enough ago."""
        self.jobs[address] = job
        if time.monotonic() - self.last >= self.every:
            with contextlib.suppress(StateLockedError):  # busy: the next batch takes it along
                self.flush(timeout=0.0)

    def flush(self, timeout: float | None = None) -> None:
        """Record every kept job now (waiting up to ``timeout`` s for the lock)."""
        self.last = time.monotonic()
        if not self.jobs:
            return
        wait = self.lock_timeout if timeout is None else timeout
        with self.store.lock("wait", wait) as session:
            for address, job in self.jobs.items():
                record = session.document.resources.get(address)
                if record is None or record.remote_id != job.id:
                    continue  # re-created or forgotten meanwhile: that newer record wins
                at = self.now()
                seq = session.journal.intent(
                    address, "observe", details={"remoteId": job.id}, now=at
                )
                session.journal.result(seq, upsert=observed(record, job, at), now=at)
        self.jobs.clear()


def wait_from_store(
    store: StateStore,
    client: RealityModelingClient,
    addresses: Sequence[str],
    *,
    schedule: PollSchedule,
    parallelism: int,
    timeout: float | None,
    on_event: EventSink = discard,
    now: Callable[[], datetime],
    record_every: float = 10.0,
    lock_timeout: float = 60.0,
) -> tuple[WaitOutcome, list[str]]:
    """``rmapply wait``: re-attach to jobs from the state alone; the outcome and the addresses
    that were not running (already settled or never submitted) when waiting began."""
    records = job_records(store.load(), addresses)
    targets, not_running = running_targets(records)
    flusher = _Flusher(store, now, record_every, lock_timeout)
    waiter = JobWaiter(
        get_progress=client.get_progress,
        get_job=client.get_job,
        record=flusher.add,
        schedule=schedule,
        parallelism=parallelism,
        on_event=on_event,
        now=now,
    )
    try:
        outcome = waiter.wait(targets, timeout=timeout)
    finally:
        flusher.flush()
    return outcome, not_running
