"""Where each job of a pipeline stands for ``rmapply status`` and ``rmapply wait``: the jobs it
takes an input or a cache from (read from the manifests) and how far those are (read from the
service or the state). Pure: values in, values out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rmapply.model import DesiredJob, DesiredState
from rmapply.plan.context import upstreams
from rmapply.state import ResourceRecord, StateDocument
from rmapply.wire import JobState

if TYPE_CHECKING:
    from rmapply.apply.watch import JobStatus

SUCCESS = "success"
ENDED_BADLY = frozenset({"failed", "cancelled"})
# a job past these has been submitted: what it waited for no longer matters
NOT_SUBMITTED = frozenset({"unsubmitted", None})


@dataclass(frozen=True)
class Upstream:
    """A job another one takes an input or a cache from, as far as it is now."""

    address: str
    state: str | None  # None: not created (not in state)
    percentage: float | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (the shape of apply's ``waitingFor`` items)."""
        return {"address": self.address, "state": self.state, "percentage": self.percentage}

    def __str__(self) -> str:
        state = self.state or "not created"
        if self.state == JobState.ACTIVE and self.percentage is not None:
            return f"{self.address} ({state}, {self.percentage:.0f}%)"
        return f"{self.address} ({state})"


@dataclass(frozen=True)
class InputsStatus:
    """Whether an unsubmitted job's inputs are ready: ``ready`` (every upstream ended in
    success: the next apply submits it), ``waiting`` (some still run or are not submitted) or
    ``blocked`` (one failed or was cancelled: it is not submitted until that one runs again)."""

    inputs: str
    upstreams: tuple[Upstream, ...]  # the ones not (yet) in success

    def to_json(self) -> dict[str, Any]:
        """The fields a status line adds: ``inputs`` and ``waitingFor``."""
        return {"inputs": self.inputs, "waitingFor": [u.to_json() for u in self.upstreams]}

    def text(self) -> str:
        """``waiting for jobs.calib (active, 35%)``, ``blocked: jobs.calib failed`` or
        ``inputs ready: the next 'rmapply apply' submits it``."""
        if self.inputs == "blocked":
            bad = [u for u in self.upstreams if u.state in ENDED_BADLY]
            return "blocked: " + ", ".join(f"{u.address} {u.state}" for u in bad)
        if self.inputs == "waiting":
            return "waiting for " + ", ".join(str(u) for u in self.upstreams)
        return "inputs ready: the next 'rmapply apply' submits it"


def upstream_addresses(job: DesiredJob) -> list[str]:
    """The jobs ``job`` takes an output or a cache from, sorted (the planner's rule:
    ``dependsOn`` orders without data, so it is not one)."""
    return sorted(str(address) for address in upstreams(job))


def job_specs(desired: DesiredState | None) -> dict[str, DesiredJob]:
    """The desired jobs by address text (none when the manifests were not read)."""
    if desired is None:
        return {}
    return {str(address): job for address, job in desired.jobs.items()}


def upstreams_needed(specs: Mapping[str, DesiredJob], addresses: Iterable[str]) -> list[str]:
    """The upstream addresses of the jobs at ``addresses`` (to read them along)."""
    found: set[str] = set()
    for address in addresses:
        job = specs.get(address)
        if job is not None:
            found.update(upstream_addresses(job))
    return sorted(found)


def inputs_status(
    specs: Mapping[str, DesiredJob],
    address: str,
    state: str | None,
    upstream_states: Mapping[str, tuple[str | None, float | None]],
) -> InputsStatus | None:
    """Where the job at ``address`` (now in ``state``) stands in its pipeline; None when it
    is not a pipeline stage still to submit (no upstream, submitted, or ``submit = false``).

    ``upstream_states`` maps a job address to its state and percentage (a missing address: the
    job is not created)."""
    job = specs.get(address)
    if job is None or not job.spec.submit or state not in NOT_SUBMITTED:
        return None
    names = upstream_addresses(job)
    if not names:
        return None
    pending = []
    for name in names:
        up_state, percentage = upstream_states.get(name, (None, None))
        if up_state != SUCCESS:
            pending.append(Upstream(name, up_state, percentage))
    if not pending:
        return InputsStatus("ready", ())
    blocked = any(u.state in ENDED_BADLY for u in pending)
    return InputsStatus("blocked" if blocked else "waiting", tuple(pending))


def with_inputs(rows: Sequence[JobStatus], specs: Mapping[str, DesiredJob]) -> list[JobStatus]:
    """``rows`` with each pipeline stage still to submit told what it waits for, judged from
    the other rows (read together) or, for a job not among them, its recorded state."""
    states = {row.address: (_state(row), row.percentage) for row in rows}
    return [
        dataclasses.replace(row, inputs=inputs_status(specs, row.address, _state(row), states))
        for row in rows
    ]


def _state(row: JobStatus) -> str | None:
    if row.gone:
        return "gone"
    return row.state or row.recorded_state  # unreadable now: what the state last saw


def recorded_stages(
    records: Sequence[ResourceRecord], document: StateDocument, specs: Mapping[str, DesiredJob]
) -> list[tuple[ResourceRecord, InputsStatus]]:
    """The pipeline stages among ``records`` still to submit, judged from the states recorded in
    ``document`` (``rmapply wait``'s last word: it read every upstream it waited for)."""
    states = {
        address: (record.job_state, None)
        for address, record in document.resources.items()
        if record.kind == "job"
    }
    found = []
    for record in records:
        inputs = inputs_status(specs, record.address, record.job_state, states)
        if inputs is not None:
            found.append((record, inputs))
    return found
