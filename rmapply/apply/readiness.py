"""Whether a job's inputs are ready: every upstream job (whose outputs or cache it takes) has
ended in success, as the state records it. A submit is never sent before."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rmapply.apply.recording import Recorder
from rmapply.errors import RmapplyError
from rmapply.model import Address, OutputRef
from rmapply.model.specs import CACHE_ADDRESS_PREFIX
from rmapply.plan.actions import NEW_UPSTREAM, READY_STATES, Upstream, waits_sentence


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
    """The upstream jobs a job spec (wire JSON, as planned) names: its output references
    (``jobs.KEY.outputs.FORMAT`` inputs) and ``useCache = "jobs.KEY"``."""
    found: set[Address] = set()
    for item in spec.get("inputs") or []:
        ref = OutputRef.parse(str(item.get("id", ""))) if isinstance(item, Mapping) else None
        if ref is not None:
            found.add(ref.address)
    settings = spec.get("settings")
    cache = settings.get("cacheSettings") if isinstance(settings, Mapping) else None
    use = cache.get("useCache") if isinstance(cache, Mapping) else None
    if isinstance(use, str) and use.startswith(CACHE_ADDRESS_PREFIX):
        found.add(Address.parse(use))
    return sorted(found, key=str)


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
