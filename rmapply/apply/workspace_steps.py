"""The workspace create step: POST /workspaces, and made again when its answer was lost
(workspaces cost nothing and the API cannot list them; docs/apply.md, "Unknown outcomes")."""

from __future__ import annotations

from typing import Any

from rmapply.apply.recording import retired_id, workspace_record
from rmapply.apply.sent_spec import spec_digest, workspace_spec_as_sent
from rmapply.apply.step_context import (
    StepContext,
    StepResult,
    check_precondition,
    journalled_call,
    may_have_happened,
)
from rmapply.apply.summary import RECREATED_NOTE
from rmapply.errors import ApiError
from rmapply.plan.actions import GONE, CreateWorkspace, ReplaceWorkspace
from rmapply.state import LostRequest

# a workspace create whose answer is lost is sent again at most this often in one apply
WORKSPACE_CREATE_SENDS = 3


def create_workspace(ctx: StepContext, action: CreateWorkspace | ReplaceWorkspace) -> StepResult:
    """POST /workspaces and record the workspace (the old id, if any, moves to history).

    A lost answer is settled by creating it again: a workspace costs nothing and the API cannot
    list them. Each lost request is kept in the record (``lost_requests``) and named.
    """
    address = str(action.address)
    check_precondition(action, ctx.recorder, recreates=True)
    body = action.request
    spec = workspace_spec_as_sent(action.after or {}, body)
    lost = lost_workspace_creates(ctx, address)
    for send in range(1, WORKSPACE_CREATE_SENDS + 1):
        details: dict[str, Any] = {"kind": "workspace", "name": body.name}
        details |= {"iTwinId": body.i_twin_id, "spec": spec}
        details |= {"specDigest": spec_digest(spec)}
        if lost:
            details["lostRequests"] = [x.model_dump(mode="json") for x in lost]
        seq = ctx.recorder.intent(address, "create", body.to_wire(), details)
        try:
            workspace = journalled_call(
                ctx, seq, lambda: ctx.client.create_workspace(body), creates=True
            )
        except ApiError as exc:
            if not may_have_happened(exc, creates=True) or send == WORKSPACE_CREATE_SENDS:
                raise
            lost = lost_workspace_creates(ctx, address)  # this one too, now pending
            continue
        break
    now = ctx.recorder.now()
    retired = None
    if isinstance(action, ReplaceWorkspace):
        retired = retired_id(action.old_remote_id, now, "replaced", None)
    elif action.previous_id:
        retired = retired_id(action.previous_id, now, "gone", GONE)
    previous = ctx.recorder.record(address)
    record = workspace_record(
        address,
        workspace,
        spec=spec,
        spec_digest=spec_digest(spec),
        now=now,
        previous=previous,
        retired=retired,
    )
    known = previous.lost_requests if previous else []
    record = record.model_copy(update={"lost_requests": [*known, *lost]})
    ctx.recorder.done(seq, upsert=record)
    ctx.created_ids[address] = record.remote_id
    if ctx.recorder.pending(address) is not None:
        ctx.recorder.resolve(address)  # the lost create is settled: recorded in the record
    return StepResult.of(record, _recreated_note(lost))


def lost_workspace_creates(ctx: StepContext, address: str) -> list[LostRequest]:
    """The lost creates of the workspace at ``address`` not yet recorded: the pending one and
    those it was sent after."""
    pending = ctx.recorder.pending(address)
    if pending is None or pending.action != "create":
        return []
    earlier = [LostRequest.model_validate(x) for x in pending.details.get("lostRequests") or []]
    name = pending.details.get("name")
    this = LostRequest(
        name=str(name) if name else None,
        sent_at=pending.sent_at,
        request_digest=pending.request_digest,
    )
    return [*earlier, this]


def _recreated_note(lost: list[LostRequest]) -> str:
    if not lost:
        return ""
    names = ", ".join(dict.fromkeys(repr(x.name) for x in lost if x.name)) or "(unnamed)"
    first = (
        "the first request's answer was lost"
        if len(lost) == 1
        else (f"{len(lost)} requests' answers were lost")
    )
    return f"{RECREATED_NOTE} {first}, a workspace named {names} may exist unused"
