"""What every step shares: its context, its result, the precondition check and the one way to
make a journalled call (a refusal is journalled as failed, a lost answer as unknown)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from rmapply.apply.events import EventSink
from rmapply.apply.recording import Recorder
from rmapply.client import RealityModelingClient
from rmapply.errors import ApiError, OutcomeUnknownError, ServerError, StalePlanError
from rmapply.plan.actions import Action
from rmapply.plan.pending import DEFAULT_IN_FLIGHT_MARGIN
from rmapply.state import ResourceRecord

T = TypeVar("T")


@dataclass(frozen=True)
class StepResult:
    """What a step achieved, for the events and the summary."""

    remote_id: str | None = None
    job_state: str | None = None
    estimated_cost: float | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    note: str = ""

    @classmethod
    def of(cls, record: ResourceRecord, note: str = "") -> StepResult:
        """The result showing ``record`` as it is now."""
        remote = record.remote or {}
        cost = remote.get("estimatedCost")
        return cls(
            remote_id=record.remote_id,
            job_state=record.job_state,
            estimated_cost=float(cost) if cost is not None else None,
            outputs=dict(record.outputs),
            note=note,
        )


@dataclass(frozen=True)
class StepContext:
    """What every step needs: the client, the recorder, the project's iTwin, how to report."""

    client: RealityModelingClient
    recorder: Recorder
    emit: EventSink
    itwin_id: str | None = None
    clock_skew: timedelta = timedelta(minutes=5)
    # seconds after the read timeout during which a lost create may still land
    in_flight_margin: float = DEFAULT_IN_FLIGHT_MARGIN
    # the exact commands that settle a lost request left unresolved, by address (each worker
    # writes only its own address, so a plain dict is safe)
    settle_commands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the remote id each create of this apply recorded, by address: the only ids that fill a
    # "(known after apply)" placeholder (a worker writes only its own address; a reader runs
    # after the writer finished, as it depends on it)
    created_ids: dict[str, str] = field(default_factory=dict)


def may_have_happened(exc: ApiError, *, creates: bool) -> bool:
    """True when the call may have been processed: no answer, or a 5xx to a POST."""
    return isinstance(exc, OutcomeUnknownError) or (creates and isinstance(exc, ServerError))


def check_precondition(action: Action, recorder: Recorder, *, recreates: bool = False) -> None:
    """Raise StalePlanError unless the state still is what the action was planned against.

    ``recreates``: a pending create at the address is what this action settles (a workspace
    created again after a lost answer), not a reason to stop.
    """
    address = str(action.address)
    expected = action.precondition
    pending = recorder.pending(address)
    if pending is not None and not (recreates and pending.action == "create"):
        raise StalePlanError(
            f"{address}: a {pending.action} of unknown outcome is pending for it (sent at "
            f"{pending.sent_at.isoformat()}); nothing was sent",
            hint="run 'rmapply plan' to resolve it and plan again",
        )
    record = recorder.record(address)
    if not expected.in_state:
        if record is not None:
            raise StalePlanError(
                f"{address}: planned as absent from state, but state now holds id "
                f"{record.remote_id}; nothing was sent",
                hint="run 'rmapply plan' again: the saved plan is older than the state",
            )
        return
    if record is None or record.remote_id != expected.remote_id:
        now_holds = f"id {record.remote_id}" if record else "nothing"
        raise StalePlanError(
            f"{address}: planned against id {expected.remote_id}, but state now holds "
            f"{now_holds}; nothing was sent",
            hint="run 'rmapply plan' again: the saved plan is older than the state",
        )
    if expected.digest is not None and record.digest != expected.digest:
        raise StalePlanError(
            f"{address}: its record in state changed since the plan was made; nothing was sent",
            hint="run 'rmapply plan' again: the saved plan is older than the state",
        )


def journalled_call(
    ctx: StepContext, seq: int, call: Callable[[], T], *, creates: bool = False
) -> T:
    """Make one journalled call; a refusal is journalled as failed, a lost answer as unknown."""
    try:
        return call()
    except ApiError as exc:
        if may_have_happened(exc, creates=creates):
            ctx.recorder.unknown(seq, exc)
        else:
            ctx.recorder.failed(seq, exc)
        raise
