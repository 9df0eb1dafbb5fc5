"""The planner's rules for a submitted job (money may have been spent): only a change to what
the job computes runs a new one; the rest is recorded, and a failed job is re-run only on
request. Also how the old job of any replacement is retired."""

from __future__ import annotations

from rmapply.model import FieldClass
from rmapply.plan.actions import Action, NoOp, ReasonCode, Record, ReplaceJob, Retire, trusted
from rmapply.plan.context import PlanContext
from rmapply.plan.job_actions import JobFacts, paths, replace_job
from rmapply.plan.remote import Observation
from rmapply.plan.upstream_jobs import upstream_reason, when_submitted
from rmapply.wire import JobState

_CLASS_WORDS = {
    FieldClass.COSMETIC: "cosmetic",
    FieldClass.ESTIMATE: "estimate-only",
    FieldClass.RECONCILER: "rmapply's own",
}
# a job that ended without its outputs: re-run only with retryFailed or --replace
NOT_FINISHED = (JobState.FAILED, JobState.CANCELLED)
# module constants: an enum member read from its class costs a descriptor call, per job here
_UNCHANGED, _RERUN = ReasonCode.UNCHANGED, FieldClass.RERUN


def plan_submitted(ctx: PlanContext, facts: JobFacts) -> Action:
    """Money may have been spent: only a change to what the job computes runs a new job."""
    state, job_id, address, diff = facts.seen.job_state, facts.job_id, facts.address, facts.diff
    if state is None:
        ctx.warnings.append(
            f"{address}: the state of job {job_id} is unknown; it is treated as submitted"
            " (plan with refresh to know more)"
        )
    shown = state or "state unknown"
    if state in NOT_FINISHED:
        ctx.warnings.append(
            f"{address}: job {job_id} {state}{_failure(facts.seen)}; it is not re-run (set"
            f" retryFailed = true in {facts.desired.source} to create it again, or run it once"
            f" more with --replace {address})"
        )
    rerun = [c for c in diff if c.field_class is _RERUN]
    if rerun:
        retire, fate = retire_for(ctx, state)
        upstream = upstream_reason(facts, rerun)
        if upstream is not None:
            reason = (
                f"{upstream} and job {job_id} is already submitted ({shown}): a new job is"
                f" created{when_submitted(ctx, facts.desired)}; {fate}; its id moves to history"
            )
            return replace_job(ctx, facts, retire, reason, ReasonCode.UPSTREAM_REPLACED)
        reason = (
            f"{paths(rerun)} {'changes' if len(rerun) == 1 else 'change'} what the job computes"
            f" and job {job_id} is already"
            f" submitted ({shown}): a new job is created{when_submitted(ctx, facts.desired)};"
            f" {fate}; its id moves to history"
        )
        return replace_job(ctx, facts, retire, reason, ReasonCode.RERUN_FIELD_CHANGED)
    if diff:
        groups = [
            f"{paths([c for c in diff if c.field_class is cls])} ({word})"
            for cls, word in _CLASS_WORDS.items()
            if any(c.field_class is cls for c in diff)
        ]
        return Record(
            kind="job",
            address=address,
            precondition=facts.precondition,
            before=facts.record.spec,
            after=facts.after,
            after_digest=facts.digest,
            diff=tuple(diff),
            remote_id=job_id,
            reason_code=ReasonCode.COSMETIC_CHANGE,
            reasons=(
                f"only {', '.join(groups)} changed and job {job_id} is already submitted"
                f" ({shown}): recorded in state, no API call; the job is not re-run",
            ),
        )
    reason, code = "unchanged", _UNCHANGED
    if state in NOT_FINISHED:
        reason = f"unchanged; job {job_id} {state} and is not re-run (retryFailed = false)"
        code = ReasonCode.FAILED_NOT_RETRIED
    return trusted(
        NoOp,
        kind="job",
        address=address,
        reason_code=code,
        reasons=(reason,),
        precondition=facts.precondition,
        remote_id=job_id,
    )


def _failure(seen: Observation) -> str:
    info = (seen.current or {}).get("executionInformation") or {}
    errors = info.get("errors") or []
    first = errors[0] if errors else {}
    text = first.get("message") or first.get("title") or first.get("code")
    return f" ({text})" if text else ""


def retire_for(ctx: PlanContext, state: str | None) -> tuple[Retire, str]:
    """How the old job of a replacement is retired, and the words that say so."""
    if state == JobState.UNSUBMITTED:
        return Retire.DELETE, "the old job is deleted (nothing was spent)"
    if state == JobState.ACTIVE and ctx.options.cancel_replaced:
        return Retire.CANCEL, "the old job is cancelled (--cancel-replaced)"
    if state == JobState.ACTIVE:
        return Retire.KEEP, "the old job keeps running (pass --cancel-replaced to cancel it)"
    return Retire.KEEP, "the old job and its outputs stay"


def requested_replace(ctx: PlanContext, facts: JobFacts) -> ReplaceJob:
    """``--replace ADDRESS``: a new job although nothing changed, retired as a replacement."""
    state = facts.seen.job_state
    retire, fate = retire_for(ctx, state)
    history = "" if retire is Retire.DELETE else "; its id moves to history"
    reason = (
        f"--replace {facts.address}: job {facts.job_id} ({state or 'state unknown'}) is run"
        f" again: a new job is created{when_submitted(ctx, facts.desired)}; {fate}{history}"
    )
    return replace_job(ctx, facts, retire, reason, ReasonCode.REPLACE_REQUESTED)
