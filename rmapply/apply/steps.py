"""One function per kind of action: journal the intent, make the call, journal the result.

Every step re-checks its action's precondition against the state right before its first side
effect, and records exactly what the service answered. A call that may have been processed but
whose answer was lost is journalled as ``unknown`` (a pending operation), never sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rmapply.apply.events import OutcomeResolved
from rmapply.apply.readiness import check_ready
from rmapply.apply.recording import (
    job_record,
    observed,
    retired_id,
    with_history_state,
)
from rmapply.apply.recovery import Outcome, resolve_operation
from rmapply.apply.sent_spec import (
    job_spec_as_patched,
    job_spec_as_sent,
    spec_digest,
)
from rmapply.apply.step_context import (
    StepContext,
    StepResult,
    check_precondition,
    journalled_call,
    may_have_happened,
)
from rmapply.errors import ApiError, InvalidChangeError, NotFoundError, RmapplyError, StalePlanError
from rmapply.model import Address
from rmapply.plan.actions import (
    GONE,
    CreateJob,
    DeleteJob,
    DeleteWorkspace,
    Forget,
    Record,
    ReplaceJob,
    Retire,
    UpdateJob,
)
from rmapply.wire import Job, JobPatch, PatchState

SUBMIT_BODY = JobPatch(state=PatchState.ACTIVE).to_wire()
CANCEL_BODY = JobPatch(state=PatchState.CANCELLED).to_wire()


def delete_workspace(ctx: StepContext, action: DeleteWorkspace) -> StepResult:
    """DELETE /workspaces/{id}; a workspace already gone counts as deleted."""
    return _delete(ctx, action, ctx.client.delete_workspace)


def _delete(
    ctx: StepContext, action: DeleteWorkspace | DeleteJob, delete: Callable[[str], None]
) -> StepResult:
    """Journal, DELETE and drop the record; a 404 means it is gone already, which is the goal."""
    address = str(action.address)
    check_precondition(action, ctx.recorder)
    seq = ctx.recorder.intent(address, "delete", None, {"remoteId": action.remote_id})
    try:
        journalled_call(ctx, seq, lambda: delete(action.remote_id))
    except NotFoundError:
        ctx.recorder.resolve(address, remove=address)
        return StepResult(remote_id=action.remote_id, note="it was already gone")
    ctx.recorder.done(seq, remove=address)
    return StepResult(remote_id=action.remote_id)


def create_job(ctx: StepContext, action: CreateJob | ReplaceJob) -> StepResult:
    """POST /jobs and record the new job; a replaced unsubmitted job is then deleted."""
    address = str(action.address)
    check_precondition(action, ctx.recorder)
    # a placeholder is filled only with an id this apply created for the address named
    # (never with an id the state held before: that workspace or cache is the one replaced)
    refs = (r for r in (action.workspace_ref, action.cache_ref) if r is not None)
    ids = {r: ctx.created_ids[str(r)] for r in refs if str(r) in ctx.created_ids}
    body = action.request_body(ids, _created_outputs(ctx, action))
    spec = job_spec_as_sent(action.after or {}, body)
    previous = ctx.recorder.record(address)
    details: dict[str, Any] = {
        "kind": "job",
        "name": body.name,
        "iTwinId": _itwin_of(ctx, body.workspace_id),
        "workspaceId": body.workspace_id,
        "type": body.type.value,
        "inputIds": [i.id for i in body.inputs],
        "spec": spec,
        "specDigest": spec_digest(spec),
        **in_flight_details(ctx),
    }
    now = ctx.recorder.now()
    retired = None
    if isinstance(action, ReplaceJob):
        retired = retired_id(action.old_remote_id, now, "replaced", action.old_state)
        if action.retire is Retire.CANCEL:
            # recorded with the new job: a later apply carries it out if this one cannot
            retired = retired.model_copy(update={"cancel": "requested"})
        details["replaces"] = retired.model_dump(mode="json")
    elif action.previous_id:
        retired = retired_id(action.previous_id, now, "gone", GONE)
        details["replaces"] = retired.model_dump(mode="json")
    seq = ctx.recorder.intent(address, "create", body.to_wire(), details)
    try:
        job = journalled_call(ctx, seq, lambda: ctx.client.create_job(body), creates=True)
    except ApiError as exc:
        if not may_have_happened(exc, creates=True):
            raise
        result = _settle_lost_create(ctx, address, exc)
    else:
        record = job_record(
            address,
            job,
            spec=spec,
            spec_digest=details["specDigest"],
            now=ctx.recorder.now(),
            previous=previous,
            retired=retired,
        )
        ctx.recorder.done(seq, upsert=record)
        ctx.created_ids[address] = record.remote_id
        result = StepResult.of(record)
    if isinstance(action, ReplaceJob) and action.retire is Retire.DELETE:
        note = _delete_replaced(ctx, address, action.old_remote_id)
        current = ctx.recorder.record(address)
        result = (
            StepResult.of(current, "; ".join(n for n in (result.note, note) if n))
            if current
            else result
        )
    return result


def _created_outputs(
    ctx: StepContext, action: CreateJob | ReplaceJob
) -> dict[Address, dict[str, str]]:
    """The output ids, by format, of the upstream jobs this apply created (recorded from their
    create answers): the only ids that fill an input reference."""
    found: dict[Address, dict[str, str]] = {}
    for ref in action.input_refs:
        created = ctx.created_ids.get(str(ref.address))
        record = ctx.recorder.record(str(ref.address))
        if created is not None and record is not None and record.remote_id == created:
            found[ref.address] = dict(record.outputs)
    return found


def _settle_lost_create(ctx: StepContext, address: str, exc: ApiError) -> StepResult:
    """Right after a lost answer: adopt the job if exactly one matches; never send again."""
    pending = ctx.recorder.pending(address)
    if pending is None:  # pragma: no cover - the unknown result always leaves one
        raise exc
    resolution = resolve_operation(
        pending,
        ctx.recorder.snapshot(),
        ctx.client,
        ctx.recorder.now(),
        clock_skew=ctx.clock_skew,
        margin=ctx.in_flight_margin,
        latest=ctx.recorder.snapshot,  # read once the list returned, not before
    )
    ctx.emit(
        OutcomeResolved(
            ctx.recorder.now(),
            address,
            "create",
            resolution.outcome.value,
            resolution.remote_id,
            resolution.message,
            resolution.commands,
        )
    )
    if resolution.commands:
        ctx.settle_commands[address] = resolution.commands
    if (
        resolution.outcome is Outcome.ADOPTED
        and resolution.record is not None
        and ctx.recorder.adopt(address, resolution.record)
    ):
        ctx.created_ids[address] = resolution.record.remote_id
        return StepResult.of(
            resolution.record, "its answer was lost; the job was found and adopted"
        )
    if resolution.outcome is Outcome.NOT_DONE:
        ctx.recorder.resolve(address)
        raise RmapplyError(
            f"{exc.message}; no matching job was found, so it was not created",
            hint="run 'rmapply apply' again to create it",
        ) from exc
    raise exc


def _delete_replaced(ctx: StepContext, address: str, old_id: str) -> str:
    """DELETE the unsubmitted job that was replaced; a failure is a note, not a failure."""
    seq = ctx.recorder.intent(address, "retire-delete", None, {"remoteId": old_id})
    try:
        journalled_call(ctx, seq, lambda: ctx.client.delete_job(old_id))
    except NotFoundError:
        pass  # journalled as failed (nothing changed remotely): it was already gone
    except ApiError as exc:
        return f"the replaced job {old_id} was not deleted: {exc.message}"
    else:
        record = ctx.recorder.record(address)
        ctx.recorder.done(
            seq, upsert=with_history_state(record, old_id, "deleted") if record else None
        )
    return f"replaced job {old_id} deleted"


def submit_job(
    ctx: StepContext,
    address: str,
    *,
    spec: dict[str, object] | None = None,
    planned: Mapping[str, Any] | None = None,
) -> StepResult:
    """PATCH {"state": "Active"} once every upstream job of ``planned`` (the job's spec as
    planned) has succeeded, else InputsNotReadyError; a lost answer is verified with a GET."""
    record = ctx.recorder.record(address)
    if record is None:
        raise StalePlanError(f"{address}: not in state any more; nothing was submitted")
    check_ready(ctx.recorder, address, planned)
    job_id = record.remote_id
    seq = ctx.recorder.intent(address, "submit", SUBMIT_BODY, {"remoteId": job_id})
    note = ""
    try:
        job = journalled_call(ctx, seq, lambda: ctx.client.submit_job(job_id))
    except InvalidChangeError as exc:
        # refused as already submitted: read it, and record what it is (not a failure)
        job = _read_after_refusal(ctx, job_id, exc, lambda j: j.state.is_submitted)
        seq = ctx.recorder.intent(address, "observe", None, {"remoteId": job_id})
        note = "it was already submitted"
    updated = observed(record, job, ctx.recorder.now())
    if spec is not None:  # a standalone submit records the spec it was planned with
        updated = updated.model_copy(update={"spec": dict(spec), "digest": spec_digest(spec)})
    ctx.recorder.done(seq, upsert=updated)
    return StepResult.of(updated, note)


def _read_after_refusal(
    ctx: StepContext, job_id: str, exc: InvalidChangeError, done: Callable[[Job], bool]
) -> Job:
    try:
        job = ctx.client.get_job(job_id)
    except ApiError:
        raise exc from None
    if not done(job):
        raise exc
    return job


def update_job(ctx: StepContext, action: UpdateJob) -> StepResult:
    """PATCH the unsubmitted job's fields and record the new spec."""
    address = str(action.address)
    check_precondition(action, ctx.recorder)
    record = ctx.recorder.record(address)
    assert record is not None  # the precondition holds
    body = action.request
    spec = job_spec_as_patched(action.after or {}, body)
    seq = ctx.recorder.intent(address, "update", body.to_wire(), {"remoteId": action.remote_id})
    job = journalled_call(ctx, seq, lambda: ctx.client.patch_job(action.remote_id, body))
    updated = observed(record, job, ctx.recorder.now()).model_copy(
        update={"spec": spec, "digest": spec_digest(spec)}
    )
    ctx.recorder.done(seq, upsert=updated)
    return StepResult.of(updated)


def delete_job(ctx: StepContext, action: DeleteJob) -> StepResult:
    """DELETE an unsubmitted job; a job already gone counts as deleted."""
    return _delete(ctx, action, ctx.client.delete_job)


def cancel_replaced(ctx: StepContext, action: ReplaceJob) -> StepResult:
    """PATCH {"state": "Cancelled"} on the job this one replaced (--cancel-replaced)."""
    return cancel_old_job(ctx, str(action.address), action.old_remote_id)


def cancel_old_job(ctx: StepContext, address: str, old_id: str) -> StepResult:
    """Cancel the replaced job ``old_id`` of ``address`` (now, or as an earlier apply asked)
    and record in its history entry that the cancel is done."""
    seq = ctx.recorder.intent(address, "retire-cancel", CANCEL_BODY, {"remoteId": old_id})
    try:
        job = journalled_call(ctx, seq, lambda: ctx.client.cancel_job(old_id))
    except NotFoundError:
        job = None  # journalled as failed: it is gone, nothing is left to cancel
        seq = ctx.recorder.intent(address, "observe", None, {"remoteId": old_id})
    except InvalidChangeError as exc:
        job = _read_after_refusal(ctx, old_id, exc, lambda j: j.state.is_terminal)
        seq = ctx.recorder.intent(address, "observe", None, {"remoteId": old_id})
    state = job.state.value if job is not None else GONE
    record = ctx.recorder.record(address)
    ctx.recorder.done(
        seq,
        upsert=with_history_state(record, old_id, state, cancelled=True) if record else None,
    )
    return StepResult(remote_id=old_id, job_state=state, note="replaced job cancelled")


def forget(ctx: StepContext, action: Forget) -> StepResult:
    """Drop the record from state; first cancel the job when the plan says so."""
    address = str(action.address)
    check_precondition(action, ctx.recorder)
    body = action.request.to_wire() if action.request else None
    seq = ctx.recorder.intent(address, "forget", body, {"remoteId": action.remote_id})
    note = ""
    if action.request is not None:
        try:
            job = journalled_call(ctx, seq, lambda: ctx.client.cancel_job(action.remote_id))
        except InvalidChangeError as exc:
            job = _read_after_refusal(ctx, action.remote_id, exc, lambda j: j.state.is_terminal)
            seq = ctx.recorder.intent(address, "forget", None, {"remoteId": action.remote_id})
        note = f"job {job.state.value}"
    ctx.recorder.done(seq, remove=address)
    return StepResult(remote_id=action.remote_id, note=note)


def record_only(ctx: StepContext, action: Record) -> StepResult:
    """Write the new spec into the record; no API call."""
    address = str(action.address)
    check_precondition(action, ctx.recorder)
    record = ctx.recorder.record(address)
    assert record is not None  # the precondition holds
    seq = ctx.recorder.intent(address, "record", action.after, {"remoteId": action.remote_id})
    spec = dict(action.after or {})
    updated = record.model_copy(
        update={"spec": spec, "digest": spec_digest(spec), "updated_at": ctx.recorder.now()}
    )
    ctx.recorder.done(seq, upsert=updated)
    return StepResult.of(updated)


def in_flight_details(ctx: StepContext) -> dict[str, Any]:
    """What judges later whether a create whose answer is lost may still be in flight: the
    read timeout it is sent with, and how far the service's clock is ahead of ours."""
    details: dict[str, Any] = {"readTimeout": ctx.client.timeout.read}
    offset = ctx.client.service_clock.offset()
    if offset is not None:
        details["serviceClockOffset"] = round(offset.total_seconds(), 3)
    return details


def _itwin_of(ctx: StepContext, workspace_id: str) -> str | None:
    """The iTwin of the workspace a job goes into (from state), else the project's."""
    return ctx.recorder.workspace_itwin(workspace_id) or ctx.itwin_id
