"""The planner's rule for a job that left the manifests: delete it while nothing was spent,
else forget it (cancelled first with cancel_removed); its outputs stay."""

from __future__ import annotations

from typing import Any

from rmapply.model import Address
from rmapply.plan.actions import Action, Precondition, ReasonCode
from rmapply.plan.context import PlanContext
from rmapply.plan.job_actions import CANCEL
from rmapply.plan.remote import Observation, Sighting
from rmapply.state.document import ResourceRecord
from rmapply.wire import JobState


def plan_removal(
    ctx: PlanContext,
    address: Address,
    record: ResourceRecord,
    seen: Observation,
    precondition: Precondition,
) -> Action:
    """A job that left the manifests: delete it when unsubmitted, else only forget it."""
    # made on first use: a plan that removes no job never needs them
    from rmapply.plan.changes import DeleteJob, Forget

    job_id, state = record.remote_id, seen.job_state
    common: dict[str, Any] = {
        "address": address,
        "precondition": precondition,
        "before": record.spec,
        "remote_id": job_id,
        "reason_code": ReasonCode.REMOVED_FROM_MANIFESTS,
    }
    left = f"{address} is no longer in the manifests"
    if seen.seen is Sighting.GONE:
        reason = f"{left} and job {job_id} no longer exists remotely (404): it is forgotten"
        return Forget(**common, kind="job", reasons=(reason,))
    if state == JobState.UNSUBMITTED:
        reason = f"{left} and job {job_id} is unsubmitted: it is deleted (nothing was spent)"
        return DeleteJob(**common, reasons=(reason,))
    if state is None:
        ctx.warnings.append(
            f"{address}: the state of job {job_id} is unknown; it is forgotten, not deleted"
        )
        reason = f"{left} and the state of job {job_id} is unknown: it is forgotten, no API call"
        return Forget(**common, kind="job", reasons=(reason,))
    if state == JobState.ACTIVE and ctx.options.cancel_removed:
        reason = (
            f"{left} and job {job_id} is active: it is cancelled (cancel_removed) and"
            " forgotten; its outputs stay"
        )
        return Forget(**common, kind="job", reasons=(reason,), request=CANCEL)
    running = "; it keeps running" if state == JobState.ACTIVE else ""
    reason = (
        f"{left} and job {job_id} is already submitted ({state}): it is forgotten, no API"
        f" call{running}; its outputs stay"
    )
    return Forget(**common, kind="job", reasons=(reason,))
