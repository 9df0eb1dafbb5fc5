"""The planner's rules for a job of a pipeline: what its upstream jobs (whose outputs or cache
it takes) change about it: when it is submitted, and the ids that a re-run upstream changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmapply.model import Address, DesiredJob, FieldClass
from rmapply.plan.actions import (
    KNOWN_AFTER_APPLY,
    FieldDiff,
    ReasonCode,
    waits_sentence,
)
from rmapply.plan.context import PlanContext
from rmapply.plan.job_actions import SUBMIT, JobFacts, cost_of, paths, then_submit
from rmapply.state.document import ResourceRecord

if TYPE_CHECKING:
    from rmapply.plan.changes import SubmitJob


def when_submitted(ctx: PlanContext, desired: DesiredJob) -> str:
    """Whether (and when) the new job is submitted, with what it waits for."""
    submit = desired.spec.submit
    return then_submit(submit, ctx.waiting_for(desired) if submit else ())


def upstream_changes(
    ctx: PlanContext, desired: DesiredJob, record: ResourceRecord
) -> dict[str, tuple[FieldDiff, Address]]:
    """Inputs and cache whose id changes because the upstream job is created anew (or was
    re-created since): the job as sent holds the old id; by path, with the upstream."""
    if not ctx.pipelines:
        return {}
    spec = desired.spec
    refs, cache_address = spec.output_refs, spec.cache_address
    if not refs and cache_address is None:  # no upstream job (most jobs): nothing to look at
        return {}
    remote = record.remote or {}
    sent_inputs = remote.get("inputs") or []
    found: dict[str, tuple[FieldDiff, Address]] = {}
    if refs:
        known, _ = ctx.outputs_for(desired)
        for index, ref in refs.items():
            item = sent_inputs[index] if index < len(sent_inputs) else None
            old = item.get("id") if isinstance(item, dict) else None
            if old is not None and old != known[ref]:
                path = f"inputs[{index}].id"
                change = FieldDiff(
                    path=path, before=old, after=known[ref], field_class=FieldClass.RERUN
                )
                found[path] = (change, ref.address)
    if cache_address is not None:
        # the job as the API answers it holds jobSettings ("settings" is the create body's name)
        cache = (remote.get("jobSettings") or {}).get("cacheSettings") or (
            remote.get("settings") or {}
        ).get("cacheSettings")
        old = (cache or {}).get("useCache")
        new, _ = ctx.cache_for(desired)
        if old is not None and new is not None and old != new:
            path = "settings.cacheSettings.useCache"
            shown = new if new != KNOWN_AFTER_APPLY else f"{new} from {cache_address}"
            change = FieldDiff(path=path, before=old, after=shown, field_class=FieldClass.RERUN)
            found[path] = (change, Address.parse(cache_address))
    return found


def upstream_reason(facts: JobFacts, changes: list[FieldDiff]) -> str | None:
    """The sentence saying which upstream re-run forces ``changes``, when it forces them all."""
    if not changes or any(c.path not in facts.upstream for c in changes):
        return None
    names = sorted({str(facts.upstream[c.path]) for c in changes})
    return (
        f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} run again, so"
        f" {paths(changes)} {'changes' if len(changes) == 1 else 'change'}"
    )


def submit_when_ready(ctx: PlanContext, facts: JobFacts, common: dict[str, Any]) -> SubmitJob:
    """Submit the unsubmitted job, unless an upstream job has not succeeded yet."""
    job_id = facts.job_id
    waiting = ctx.waiting_for(facts.desired)
    code = ReasonCode.SUBMIT_REQUESTED
    reason = f"job {job_id} is unsubmitted and the manifest says submit = true: it is submitted"
    if any(u.failed for u in waiting):
        code = ReasonCode.UPSTREAM_FAILED
        reason = (
            f"job {job_id} is unsubmitted and the manifest says submit = true, but it is"
            f" {waits_sentence(waiting)}: it is not submitted (re-run the failed job with"
            " retryFailed = true or --replace, and this one follows)"
        )
    elif waiting:
        code = ReasonCode.WAITING_FOR_INPUTS
        reason = (
            f"job {job_id} is unsubmitted and {waits_sentence(waiting)}: it is submitted once"
            " its inputs are ready (the next 'rmapply apply', or this one with --wait)"
        )
    from rmapply.plan.changes import SubmitJob  # made on first use

    return SubmitJob(
        **common,
        reason_code=code,
        diff=tuple(facts.diff),
        reasons=(reason,),
        cost=cost_of(ctx, facts.desired, facts.seen.current),
        request=SUBMIT,
        waiting_for=waiting,
    )
