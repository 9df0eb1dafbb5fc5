"""Operations of unknown outcome: shown as unresolved; nothing is planned that could repeat one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rmapply.model import Address, DesiredState, ResourceKind
from rmapply.state.document import PendingOperation, StateDocument

if TYPE_CHECKING:
    from rmapply.plan.reported import Unresolved

# the client's default read timeout, for an intent that did not record the one it was sent with
DEFAULT_READ_TIMEOUT = 60.0
# how long after the client stopped waiting a request may still be processed by the service
DEFAULT_IN_FLIGHT_MARGIN = 60.0


def in_flight_until(
    operation: PendingOperation, margin: float = DEFAULT_IN_FLIGHT_MARGIN
) -> datetime:
    """Our time until which a lost request may still land: sent + its read timeout + margin."""
    read = operation.details.get("readTimeout")
    seconds = float(read) if isinstance(read, int | float) else DEFAULT_READ_TIMEOUT
    return operation.sent_at + timedelta(seconds=seconds + margin)


def may_still_land(
    operation: PendingOperation,
    now: datetime,
    *,
    margin: float = DEFAULT_IN_FLIGHT_MARGIN,
    service_now: datetime | None = None,
) -> bool:
    """True while a request whose answer was lost may still be in flight.

    It is over once our clock (``now``) passed ``in_flight_until``, or once the service's clock
    (``service_now``, from its ``Date`` header) passed the same moment on its own clock: the
    offset between the clocks was journalled with the intent (``serviceClockOffset``); without
    it the service's clock cannot be compared and only ours counts.
    """
    deadline = in_flight_until(operation, margin)
    if now >= deadline:
        return False
    offset = operation.details.get("serviceClockOffset")
    if service_now is None or not isinstance(offset, int | float):
        return True
    return service_now < deadline + timedelta(seconds=float(offset))


def recreated_workspace(operation: PendingOperation, desired: DesiredState) -> bool:
    """True for a lost create of a workspace the manifests still want: it is created again."""
    if operation.action != "create":
        return False
    address = Address.parse(operation.address)
    return address.kind is ResourceKind.WORKSPACE and address in desired.workspaces


def lost_create_note(operation: PendingOperation) -> str:
    """What the plan and the summary say about a workspace create whose answer was lost."""
    name = operation.details.get("name")
    named = f" named {name!r}" if name else ""
    return (
        f"the create sent at {operation.sent_at.isoformat(timespec='seconds')} lost its answer:"
        f" it is created again (workspaces cost nothing and cannot be listed); a workspace{named}"
        " may exist unused"
    )


def requested_cancel_notes(state: StateDocument) -> list[str]:
    """One line per replaced job whose cancel (--cancel-replaced) an earlier apply asked for
    and did not carry out: apply does it, once the replacement is submitted."""
    notes = []
    for address in sorted(state.resources):
        record = state.resources[address]
        for entry in record.history:
            if entry.cancel == "requested":
                notes.append(
                    f"{address}: replaced job {entry.id} is still to be cancelled"
                    " (--cancel-replaced of an earlier apply); apply cancels it once job"
                    f" {record.remote_id} is submitted"
                )
    return notes


def blocked_addresses(
    desired: DesiredState,
    pending: dict[Address, PendingOperation],
    selected: set[Address] | None,
    warnings: list[str],
) -> set[Address]:
    """Addresses with a pending operation, and (transitively) the desired jobs that need them."""
    blocked = set(pending)
    if not pending:
        return blocked
    dependents: dict[Address, set[Address]] = {}
    for address, job in desired.jobs.items():
        for dep in job.dependencies():
            dependents.setdefault(dep, set()).add(address)
    todo = sorted(pending, reverse=True)
    while todo:
        dep = todo.pop()
        for user in sorted(dependents.get(dep, ())):
            if user not in blocked:
                blocked.add(user)
                todo.append(user)
                if selected is None or user in selected:
                    warnings.append(
                        f"{user} is not planned: it needs {dep}, which waits for an unresolved"
                        " operation"
                    )
    return blocked


def in_flight_message(operation: PendingOperation, margin: float = DEFAULT_IN_FLIGHT_MARGIN) -> str:
    """Why a lost job create is left alone for now, and when it settles by itself."""
    until = in_flight_until(operation, margin).isoformat(timespec="seconds")
    name = operation.details.get("name")
    named = f" of job {name!r}" if name else ""
    return (
        f"the create{named} was sent at {operation.sent_at.isoformat(timespec='seconds')} and no"
        f" job has appeared yet, but the request may still be in flight until {until}: it stays"
        " pending and is not sent again; the next 'rmapply apply' after that settles it by"
        " itself (adopts the job if it appeared, else creates it)"
    )


# the one command that settles a create still in flight (once its window has passed)
IN_FLIGHT_COMMANDS = ("rmapply apply",)


def unresolved(
    operation: PendingOperation,
    now: datetime | None = None,
    *,
    margin: float = DEFAULT_IN_FLIGHT_MARGIN,
) -> Unresolved:
    """The operation as the plan shows it, with the exact commands that settle it.

    With ``now``, a job create that may still be in flight says so, and when it settles.
    """
    address = Address.parse(operation.address)
    noun = "job" if address.kind is ResourceKind.JOB else "workspace"
    sent = operation.sent_at.isoformat()
    forget = f"rmapply state forget-intent {address}"
    in_flight = (
        operation.action == "create"
        and noun == "job"
        and now is not None
        and may_still_land(operation, now, margin=margin)
    )
    if in_flight:
        message = in_flight_message(operation, margin)
        commands: tuple[str, ...] = IN_FLIGHT_COMMANDS
    elif operation.action == "create":
        name = operation.details.get("name")
        named = f" named {name!r}" if name else ""
        placeholder = "JOB_ID" if noun == "job" else "WORKSPACE_ID"
        message = (
            f"the create of {address} was sent at {sent} but no answer came: a {noun}{named} may"
            " exist remotely; rmapply will not create it again until this is settled"
        )
        commands = (f"rmapply import {address} {placeholder}", forget)
    else:
        message = (
            f"the {operation.action} of {address} was sent at {sent} but no answer came: it may"
            " have taken effect; nothing is planned for it until this is settled"
        )
        commands = (forget,)
    from rmapply.plan.reported import Unresolved  # made on first use

    return Unresolved(
        address=address,
        operation=operation.action,
        sent_at=operation.sent_at,
        request_digest=operation.request_digest,
        details=operation.details,
        message=message,
        commands=commands,
    )
