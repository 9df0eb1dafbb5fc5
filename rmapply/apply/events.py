"""What apply reports while it works: frozen events, one per thing a user may want to see."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True)
class ApplyEvent:
    """Base of every apply event; ``kind`` names it in the ``--json`` stream."""

    kind: ClassVar[str] = "event"
    at: datetime

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"event": kind, ...fields}`` with times in ISO 8601."""
        out: dict[str, Any] = {"event": self.kind}
        for f in dataclasses.fields(self):
            out[_camel(f.name)] = _jsonable(getattr(self, f.name))
        return out


@dataclass(frozen=True)
class ActionStarted(ApplyEvent):
    """An action's first request is about to be sent."""

    kind: ClassVar[str] = "action_started"
    address: str
    action: str


@dataclass(frozen=True)
class ActionFinished(ApplyEvent):
    """An action succeeded and its result is recorded in the state."""

    kind: ClassVar[str] = "action_finished"
    address: str
    action: str
    remote_id: str | None = None
    job_state: str | None = None
    estimated_cost: float | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class ActionFailed(ApplyEvent):
    """An action failed; ``code`` and ``api_message`` are the API's when it answered."""

    kind: ClassVar[str] = "action_failed"
    address: str
    action: str
    message: str
    code: str | None = None
    status: int | None = None
    api_message: str | None = None
    outcome_unknown: bool = False


@dataclass(frozen=True)
class ActionSkipped(ApplyEvent):
    """An action was not attempted; ``reason`` says why (a failed dependency, the budget...)."""

    kind: ClassVar[str] = "action_skipped"
    address: str
    action: str
    reason: str


@dataclass(frozen=True)
class ActionWaiting(ApplyEvent):
    """A submit was not sent because an upstream job has not succeeded yet; the next apply
    (or this one, with --wait) sends it once it has. ``waiting_for``: ``{address, state,
    percentage}`` of each upstream job not in success."""

    kind: ClassVar[str] = "action_waiting"
    address: str
    action: str
    reason_code: str
    waiting_for: tuple[Mapping[str, Any], ...]
    message: str = ""


@dataclass(frozen=True)
class OutcomeResolved(ApplyEvent):
    """A request whose answer was lost was settled (adopted, not done, or still unresolved);
    ``commands`` are the exact commands that settle an unresolved one."""

    kind: ClassVar[str] = "outcome_resolved"
    address: str
    action: str
    outcome: str
    remote_id: str | None = None
    message: str = ""
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetHeld(ApplyEvent):
    """Submitting would exceed the budget, so nothing was submitted."""

    kind: ClassVar[str] = "budget_held"
    addresses: tuple[str, ...]
    total: float
    limit: float
    unpriced: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class ProgressReported(ApplyEvent):
    """A poll of a submitted job answered."""

    kind: ClassVar[str] = "progress"
    address: str
    job_id: str
    percentage: float
    state: str
    step: str = ""
    next_poll_seconds: float | None = None


@dataclass(frozen=True)
class JobSettled(ApplyEvent):
    """A waited-for job reached a final state, recorded in the state."""

    kind: ClassVar[str] = "job_settled"
    address: str
    job_id: str
    state: str
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class WaitStopped(ApplyEvent):
    """Waiting stopped before every job settled (Ctrl-C, or a time limit); jobs keep running."""

    kind: ClassVar[str] = "wait_stopped"
    addresses: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class RateLimitWait(ApplyEvent):
    """A 429 began a pause of every worker (at least its Retry-After), after which requests go
    out one by one at ``requests_per_second``; one event per pause, not one per 429."""

    kind: ClassVar[str] = "rate_limit_wait"
    seconds: float
    message: str = ""
    requests_per_second: float | None = None


@dataclass(frozen=True)
class ApplyFinished(ApplyEvent):
    """The end of an apply: counts of what was done, failed, skipped and held."""

    kind: ClassVar[str] = "apply_finished"
    done: int
    failed: int
    skipped: int
    held: int = 0
    unresolved: int = 0
    waiting: int = 0


EventSink = Callable[[ApplyEvent], None]


def discard(_event: ApplyEvent) -> None:
    """An event sink that drops everything (the default when nobody listens)."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value
