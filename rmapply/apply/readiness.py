"""Whether a job's inputs are ready: every upstream job (whose outputs or cache it takes) has
ended in success, as the state records it. A submit is never sent before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rmapply.apply.events import ActionWaiting
from rmapply.apply.recording import Recorder
from rmapply.apply.summary import ActionOutcome, OutcomeStatus
from rmapply.client import RealityModelingClient
from rmapply.errors import ApiError, RmapplyError
from rmapply.model import Address, job_upstreams
from rmapply.plan.actions import (
    NEW_UPSTREAM,
    READY_STATES,
    ReasonCode,
    Upstream,
    waits_sentence,
)
from rmapply.wire import JobState


class InputsNotReadyError(RmapplyError):
    """A submit not sent because an upstream job has not succeeded: it waits (the upstream
    may still succeed) or it is blocked (the upstream failed or was cancelled)."""

    def __init__(self, address: str, upstreams: tuple[Upstream, ...]) -> None:
        self.address = address
        self.upstreams = upstreams
        super().__init__(f"{address}: {self.sentence}")

    @property
    def blocked(self) -> bool:
        """True when an upstream failed or was cancelled: only a re-run of it unblocks."""
        return any(u.failed for u in self.upstreams)

    @property
    def sentence(self) -> str:
        """``waiting for jobs.calib (active, 35%)`` or ``blocked, jobs.calib failed``."""
        text = waits_sentence(self.upstreams)
        return text if self.blocked else "waiting" + text.removeprefix("waits")


def spec_upstreams(spec: Mapping[str, Any]) -> list[Address]:
    """The upstream jobs a job spec (wire JSON, as planned) names, by the planner's own rule
    (``job_upstreams``): its output references and ``useCache = "jobs.KEY"``."""
    inputs = [item.get("id") for item in spec.get("inputs") or [] if isinstance(item, Mapping)]
    settings = spec.get("settings")
    cache = settings.get("cacheSettings") if isinstance(settings, Mapping) else None
    use = cache.get("useCache") if isinstance(cache, Mapping) else None
    ids = (text for text in inputs if isinstance(text, str))
    return sorted(job_upstreams(ids, use if isinstance(use, str) else None), key=str)


def not_ready(
    recorder: Recorder,
    spec: Mapping[str, Any],
    percentages: Mapping[str, float] | None = None,
) -> tuple[Upstream, ...]:
    """The upstream jobs of ``spec`` that have not ended in success (by the state now)."""
    out = []
    for address in spec_upstreams(spec):
        record = recorder.record(str(address))
        state = record.job_state if record is not None else None
        if state in READY_STATES:
            continue
        percentage = (percentages or {}).get(str(address))
        out.append(Upstream(address=address, state=state or NEW_UPSTREAM, percentage=percentage))
    return tuple(out)


def check_ready(recorder: Recorder, address: str, spec: Mapping[str, Any] | None) -> None:
    """Raise InputsNotReadyError unless every upstream job of ``spec`` has ended in success."""
    waiting = not_ready(recorder, spec or {})
    if waiting:
        raise InputsNotReadyError(address, waiting)


def waiting_reports(
    recorder: Recorder,
    client: RealityModelingClient,
    waiting: Sequence[tuple[str, str, str]],
    specs: Mapping[str, Mapping[str, Any]],
    *,
    percentages: Mapping[str, float] | None,
    now: datetime,
) -> list[tuple[ActionWaiting, ActionOutcome]]:
    """The event and outcome of each (address, action, reason) left waiting; without
    ``percentages`` (no --wait) the progress of each running upstream job is read once."""
    if percentages is None:
        percentages = _progress(recorder, client, [specs.get(a) or {} for a, _, _ in waiting])
    reports = []
    for address, action, reason in waiting:
        upstreams = not_ready(recorder, specs.get(address) or {}, percentages)
        message = (
            InputsNotReadyError(address, upstreams).sentence if upstreams else f"waiting ({reason})"
        )
        event = ActionWaiting(
            now,
            address,
            action,
            ReasonCode.WAITING_FOR_INPUTS.value,
            tuple(u.model_dump(mode="json") for u in upstreams),
            message,
        )
        reports.append((event, ActionOutcome(address, action, OutcomeStatus.WAITING, message)))
    return reports


def _progress(
    recorder: Recorder, client: RealityModelingClient, specs: Sequence[Mapping[str, Any]]
) -> dict[str, float]:
    """How far each running upstream job is (one GET each; a failed read only says less)."""
    found: dict[str, float] = {}
    for spec in specs:
        for upstream in not_ready(recorder, spec):
            address = str(upstream.address)
            record = recorder.record(address)
            if address in found or record is None or upstream.state != JobState.ACTIVE:
                continue
            try:
                progress = client.get_progress(record.remote_id)
            except ApiError:
                continue
            if progress.percentage is not None:
                found[address] = float(progress.percentage)
    return found
