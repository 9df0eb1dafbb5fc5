"""The planner's rules for jobs: what a difference means depends on the job's state (a new or
unsubmitted job here; a submitted one in submitted_jobs, a removed one in job_removal)."""

from __future__ import annotations

from typing import Any

from rmapply.errors import PlanError
from rmapply.model import PATCHABLE_JOB_FIELDS, Address, DesiredJob, FieldClass, digest
from rmapply.plan.actions import (
    KNOWN_AFTER_APPLY,
    Action,
    FieldDiff,
    NoOp,
    Precondition,
    ReasonCode,
    Record,
    ReplaceJob,
    Retire,
    UpdateJob,
    trusted,
)
from rmapply.plan.context import PlanContext
from rmapply.plan.diff import parse_path, spec_diff, value_at
from rmapply.plan.drift import RemoteChangeCategory
from rmapply.plan.job_actions import (
    ABSENT,
    SUBMIT,
    JobFacts,
    cost_of,
    create_job,
    patch_body,
    paths,
    replace_job,
    then_submit,
    top_field,
)
from rmapply.plan.job_removal import plan_removal
from rmapply.plan.remote import Observation, Sighting
from rmapply.plan.submitted_jobs import NOT_FINISHED, plan_submitted, requested_replace
from rmapply.plan.upstream_jobs import (
    submit_when_ready,
    upstream_changes,
    upstream_reason,
    when_submitted,
)
from rmapply.state.document import ResourceRecord
from rmapply.wire import JobState

# spec fields that only say where the workspace comes from; the resolved id decides a change
_WORKSPACE_FIELDS = ("workspace", "workspaceId")
# module constants: an enum member read from its class costs a descriptor call, per job here
_GONE, _UNSUBMITTED, _UNCHANGED = Sighting.GONE, JobState.UNSUBMITTED, ReasonCode.UNCHANGED
_RECONCILER = FieldClass.RECONCILER


def plan_job(
    ctx: PlanContext,
    address: Address,
    desired: DesiredJob | None,
    record: ResourceRecord | None,
) -> Action | None:
    """The action for one job (None when there is nothing at all to say about it)."""
    after = desired.spec.to_wire() if desired else {}
    if record is None:
        if desired is None:
            return None
        reason = f"{address} is in the manifests but not in the state: it is created"
        reason += when_submitted(ctx, desired)
        return create_job(
            ctx,
            desired,
            after,
            digest(after),
            precondition=ABSENT,
            reason=reason,
            code=ReasonCode.NEW,
        )
    seen = ctx.observe(address)
    state = seen.job_state
    precondition = trusted(
        Precondition,
        in_state=True,
        remote_id=record.remote_id,
        state=state,
        seen=seen.seen,
        digest=record.digest,
    )
    if desired is None:
        return plan_removal(ctx, address, record, seen, precondition)
    # equal dicts have equal canonical digests: hashing is only needed when they differ
    same = record.spec == after and bool(record.digest)
    spec_digest = record.digest if same else digest(after)
    if seen.seen is _GONE:
        reason = (
            f"job {record.remote_id} no longer exists remotely (404): a new job is created"
            + when_submitted(ctx, desired)
        )
        return create_job(
            ctx,
            desired,
            after,
            spec_digest,
            precondition=precondition,
            reason=reason,
            code=ReasonCode.GONE_REMOTELY,
            record=record,
        )
    changes = _diff(
        ctx, desired, after, same=spec_digest == record.digest, record=record, seen=seen
    )
    upstream = upstream_changes(ctx, desired, record)
    if upstream:
        taken = {c.path for c in changes}
        changes.extend(c for c, _ in upstream.values() if c.path not in taken)
        changes.sort(key=lambda c: c.path)
    facts = JobFacts(
        desired,
        after,
        spec_digest,
        record,
        seen,
        precondition,
        changes,
        upstream={path: address for path, (_, address) in upstream.items()},
    )
    if state in NOT_FINISHED and desired.spec.retry_failed:
        reason = (
            f"job {record.remote_id} {state} and retryFailed = true: a new job is created"
            f"{when_submitted(ctx, desired)}; the {state} job's id moves to history"
        )
        return replace_job(ctx, facts, Retire.KEEP, reason, ReasonCode.RETRY_FAILED)
    action = _unsubmitted(ctx, facts) if state == _UNSUBMITTED else plan_submitted(ctx, facts)
    # (an empty --replace set is not asked: hashing an Address costs a Python call)
    if ctx.replacing and address in ctx.replacing and not isinstance(action, ReplaceJob):
        return requested_replace(ctx, facts)
    return action


def _diff(
    ctx: PlanContext,
    desired: DesiredJob,
    after: dict[str, Any],
    *,
    same: bool,
    record: ResourceRecord,
    seen: Observation,
) -> list[FieldDiff]:
    """Spec differences (deepdiff only when the digests differ) and a workspace id change."""
    changes: list[FieldDiff] = []
    if not same:
        for change in spec_diff(record.spec, after):
            # how the workspace is named is rmapply's business; its resolved id decides below
            renamed = change.path in _WORKSPACE_FIELDS
            changes.append(
                change.model_copy(update={"field_class": FieldClass.RECONCILER})
                if renamed
                else change
            )
    workspace_id, ref = ctx.workspace_for(desired)
    old = record.workspace_id or (seen.current or {}).get("workspaceId")
    if old is not None and (ref is not None or workspace_id != old):
        gone = (
            ctx.gone_workspace_ids(Address.workspace(desired.spec.workspace))
            if desired.spec.workspace
            else set()
        )
        if old not in gone:  # a workspace re-created after a 404 is not the user's change
            new = workspace_id if ref is None else KNOWN_AFTER_APPLY
            changes.append(
                FieldDiff(path="workspaceId", before=old, after=new, field_class=FieldClass.RERUN)
            )
            changes.sort(key=lambda c: c.path)
    return changes


def _restore(ctx: PlanContext, address: Address, after: dict[str, Any]) -> list[FieldDiff]:
    """Patchable fields of an unsubmitted job changed outside rmapply: back to the manifests."""
    # (no remote change at all, as in most plans: no Address to hash)
    change = ctx.remote_changes.get(address) if ctx.remote_changes else None
    if change is None or change.category is not RemoteChangeCategory.DRIFT:
        return []
    return [
        FieldDiff(
            path=drifted.path,
            before=drifted.after,
            after=value_at(after, parse_path(drifted.path)),
            field_class=drifted.field_class,
        )
        for drifted in change.diff
        if top_field(drifted.path) in PATCHABLE_JOB_FIELDS
    ]


def _unsubmitted(ctx: PlanContext, facts: JobFacts) -> Action:
    """Nothing was spent: PATCH what PATCH accepts, replace for the rest, submit when asked."""
    spec, diff, job_id = facts.desired.spec, facts.diff, facts.job_id
    if not diff and not ctx.remote_changes:
        # nothing differs and nothing moved remotely (most jobs of most plans): nothing to
        # replace, patch or restore; what is left below is the submit or the no-op
        return _unchanged(ctx, facts)
    fixed = [
        c
        for c in diff
        if c.field_class is not _RECONCILER
        # PATCH cannot clear a field: a removed patchable value needs a new job too
        and (
            top_field(c.path) not in PATCHABLE_JOB_FIELDS
            or c.change == "removed"
            # an id known only after apply cannot be patched in: a new job takes it
            or c.path in facts.upstream
        )
    ]
    if fixed:
        upstream = upstream_reason(facts, fixed)
        why = upstream or f"{paths(fixed)} cannot be changed by PATCH on an unsubmitted job"
        reason = (
            f"{why}: job {job_id} is deleted (nothing was spent) and a new job is"
            f" created{when_submitted(ctx, facts.desired)}"
        )
        code = ReasonCode.UPSTREAM_REPLACED if upstream else ReasonCode.UNPATCHABLE_FIELD_CHANGED
        return replace_job(ctx, facts, Retire.DELETE, reason, code)
    after = facts.after
    restored = _restore(ctx, facts.address, after)
    patched = [c for c in diff if top_field(c.path) in PATCHABLE_JOB_FIELDS]
    fields = {top_field(c.path) for c in patched + restored}
    if fields:
        reasons = []
        if patched:
            reasons.append(
                f"{paths(patched)} can be changed in place on the unsubmitted job {job_id} (PATCH)"
            )
        if restored:
            reasons.append(
                f"{paths(restored)} changed outside rmapply: restored to the manifests' values"
            )
        waiting = ctx.waiting_for(facts.desired) if spec.submit else ()
        if spec.submit:
            words = then_submit(True, waiting)
            reasons.append(
                f"then it is{words.removeprefix(' and')}"
                if words.startswith(" and")
                else f"it is{words.removeprefix(',')}"
            )
        return UpdateJob(
            **_common(facts),
            reason_code=(
                ReasonCode.PATCHABLE_FIELD_CHANGED if patched else ReasonCode.DRIFT_RESTORED
            ),
            reasons=tuple(reasons),
            diff=tuple(sorted(diff + restored, key=lambda c: c.path)),
            cost=cost_of(ctx, facts.desired, facts.seen.current),
            request=patch_body(facts.desired, fields, _existing_cache(ctx, facts.desired)),
            submit=spec.submit,
            submit_request=SUBMIT if spec.submit else None,
            waiting_for=waiting,
        )
    if diff and not spec.submit:
        return Record(
            **_common(facts),
            kind="job",
            reason_code=ReasonCode.COSMETIC_CHANGE,
            diff=tuple(diff),
            reasons=(
                f"only rmapply's own fields changed ({paths(diff)}): recorded in state, no API"
                " call",
            ),
        )
    return _unchanged(ctx, facts)


def _unchanged(ctx: PlanContext, facts: JobFacts) -> Action:
    """An unsubmitted job with nothing to change: submitted when asked, else left alone."""
    if facts.desired.spec.submit:
        return submit_when_ready(ctx, facts, _common(facts))
    return trusted(
        NoOp,
        kind="job",
        address=facts.address,
        reason_code=_UNCHANGED,
        reasons=("unchanged",),
        precondition=facts.precondition,
        remote_id=facts.job_id,
    )


def _common(facts: JobFacts) -> dict[str, Any]:
    """The fields every action on an unsubmitted job in state shares (not built for a no-op)."""
    return {
        "address": facts.address,
        "precondition": facts.precondition,
        "before": facts.record.spec,
        "after": facts.after,
        "after_digest": facts.digest,
        "remote_id": facts.job_id,
    }


def _existing_cache(ctx: PlanContext, desired: DesiredJob) -> str | None:
    """The id behind ``useCache = "jobs.KEY"`` for a PATCH, which cannot wait for apply."""
    cache_id, pending = ctx.cache_for(desired)
    if pending is not None:
        raise PlanError(
            f"{desired.address}: useCache {pending} names a job that does not exist yet, and an "
            "unsubmitted job's settings are patched with literal ids",
            hint=f"apply {pending} first: rmapply apply --target {pending}",
        )
    return cache_id
