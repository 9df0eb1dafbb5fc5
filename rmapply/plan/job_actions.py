"""Builders of job actions: the facts about one job, and the exact request bodies."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from rmapply.model import Address, DesiredJob
from rmapply.plain_record import PlainRecord
from rmapply.plan.actions import (
    CANCEL_PATCH,
    SUBMIT_PATCH,
    FieldDiff,
    JobCost,
    Precondition,
    ReasonCode,
    ReplaceJob,
    Retire,
    Upstream,
    trusted,
    waits_sentence,
)
from rmapply.plan.context import PlanContext
from rmapply.plan.cost import job_cost
from rmapply.plan.remote import Observation
from rmapply.state.document import ResourceRecord
from rmapply.wire import JobPatch, JobPatchSettings

SUBMIT = SUBMIT_PATCH
CANCEL = CANCEL_PATCH
ABSENT = trusted(Precondition, in_state=False)  # no validator built at import

if TYPE_CHECKING:
    from rmapply.plan.changes import CreateJob


@functools.cache  # compiled on first use: a plan with no changed field never splits a path
def _top() -> re.Pattern[str]:
    return re.compile(r"[.\[]")


# Written out as @dataclass(slots=True) would make it (init, repr, eq): the decorator costs a
# dozen times as much at import, and a named tuple's fields read slower here. Not frozen: a
# frozen dataclass sets each field through object.__setattr__, which costs as much as the rest
# of deciding an unchanged job; nothing assigns to it after __init__.
class JobFacts(PlainRecord):
    """Everything known about one job that is both desired and in state."""

    __slots__ = _FIELDS = (
        "desired",
        "after",
        "digest",
        "record",
        "seen",
        "precondition",
        "diff",
        "upstream",
    )
    desired: DesiredJob
    after: dict[str, Any]  # the desired spec as wire JSON
    digest: str  # its digest
    record: ResourceRecord
    seen: Observation
    precondition: Precondition
    diff: list[FieldDiff]
    # changed paths forced by an upstream job created anew (its output or cache ids change)
    upstream: dict[str, Address]

    def __init__(  # noqa: PLR0917 - the dataclass's signature, kept for its callers
        self,
        desired: DesiredJob,
        after: dict[str, Any],
        digest: str,
        record: ResourceRecord,
        seen: Observation,
        precondition: Precondition,
        diff: list[FieldDiff],
        upstream: dict[str, Address] | None = None,
    ) -> None:
        self.desired = desired
        self.after = after
        self.digest = digest
        self.record = record
        self.seen = seen
        self.precondition = precondition
        self.diff = diff
        self.upstream = {} if upstream is None else upstream

    @property
    def address(self) -> Address:
        """The job's address."""
        return self.desired.address

    @property
    def job_id(self) -> str:
        """The remote id in state."""
        return self.record.remote_id


def top_field(path: str) -> str:
    """``settings.quality`` -> ``settings``; ``inputs[0].id`` -> ``inputs``."""
    return _top().split(path, maxsplit=1)[0]


def paths(changes: list[FieldDiff]) -> str:
    """The changed paths, comma-separated, each once."""
    return ", ".join(dict.fromkeys(c.path for c in changes))


def then_submit(submit: bool, waiting: tuple[Upstream, ...] = ()) -> str:
    """The end of a sentence saying whether the new job is submitted, and when."""
    if not submit:
        return ", not submitted (submit = false)"
    if any(u.failed for u in waiting):
        return f", not submitted yet ({waits_sentence(waiting)})"
    if waiting:
        return f" and submitted once its inputs are ready ({waits_sentence(waiting)})"
    return " and submitted (submit = true)"


def cost_of(ctx: PlanContext, job: DesiredJob, priced: dict[str, Any] | None) -> JobCost | None:
    """The cost when the job will run (submit = true), else None."""
    if not job.spec.submit:
        return None
    return job_cost(job.spec, priced, ctx.options.cost_model)


def create_job(
    ctx: PlanContext,
    desired: DesiredJob,
    after: dict[str, Any],
    digest: str,
    *,
    precondition: Precondition,
    reason: str,
    code: ReasonCode,
    record: ResourceRecord | None = None,
) -> CreateJob:
    """CreateJob; with ``record`` (its job vanished remotely) the old id moves to history."""
    workspace_id, ref = ctx.workspace_for(desired)
    cache_id, cache_ref = ctx.cache_for(desired)
    output_ids, input_refs = ctx.outputs_for(desired)
    submit = desired.spec.submit
    from rmapply.plan.changes import CreateJob  # made on first use

    return CreateJob(
        address=desired.address,
        reason_code=code,
        reasons=(reason,),
        precondition=precondition,
        before=record.spec if record else None,
        after=after,
        after_digest=digest,
        cost=cost_of(ctx, desired, record.remote if record else None),
        request=desired.spec.to_creation(workspace_id, cache_id, output_ids),
        workspace_ref=ref,
        cache_ref=cache_ref,
        input_refs=input_refs,
        waiting_for=ctx.waiting_for(desired) if submit else (),
        submit=submit,
        submit_request=SUBMIT if submit else None,
        previous_id=record.remote_id if record else None,
    )


def replace_job(
    ctx: PlanContext, facts: JobFacts, retire: Retire, reason: str, code: ReasonCode
) -> ReplaceJob:
    """ReplaceJob: a new job from the manifests; the old one retired as ``retire`` says."""
    desired = facts.desired
    workspace_id, ref = ctx.workspace_for(desired)
    cache_id, cache_ref = ctx.cache_for(desired)
    output_ids, input_refs = ctx.outputs_for(desired)
    submit = desired.spec.submit
    return ReplaceJob(
        address=facts.address,
        reason_code=code,
        reasons=(reason,),
        precondition=facts.precondition,
        before=facts.record.spec,
        after=facts.after,
        after_digest=facts.digest,
        diff=tuple(facts.diff),
        # the old job's price holds when it was priced from the same parameters
        cost=cost_of(ctx, desired, facts.seen.current),
        request=desired.spec.to_creation(workspace_id, cache_id, output_ids),
        workspace_ref=ref,
        cache_ref=cache_ref,
        input_refs=input_refs,
        waiting_for=ctx.waiting_for(desired) if submit else (),
        submit=submit,
        submit_request=SUBMIT if submit else None,
        old_remote_id=facts.job_id,
        old_state=facts.seen.job_state,
        retire=retire,
        retire_request=CANCEL if retire is Retire.CANCEL else None,
    )


def patch_body(desired: DesiredJob, fields: set[str], cache_id: str | None = None) -> JobPatch:
    """The PATCH body setting ``fields`` (type, settings, costEstimationParameters) as desired.

    Settings are sent whole: the jobPatchSettings schema replaces an unsubmitted job's settings.
    ``cache_id`` replaces ``useCache = "jobs.KEY"`` (an address never reaches the API).
    """
    spec = desired.spec
    # only the settings are used: the inputs (and the ids of output references) are not patched
    no_ids = {ref: "" for ref in spec.output_refs.values()}
    settings = spec.to_creation(spec.workspace_id or "", cache_id, no_ids).settings
    patched_settings = JobPatchSettings(
        quality=settings.quality,
        processing_engines=settings.processing_engines,
        outputs=list(settings.outputs),
        cache_settings=settings.cache_settings,
    )
    return JobPatch(
        type=spec.type if "type" in fields else None,
        settings=patched_settings if "settings" in fields else None,
        cost_estimation_parameters=(
            spec.cost_estimation_parameters if "costEstimationParameters" in fields else None
        ),
    )
