"""Operations of unknown outcome: shown as unresolved; nothing is planned that could repeat one."""

from __future__ import annotations

from rmapply.model import Address, DesiredState, ResourceKind
from rmapply.plan.result import Unresolved
from rmapply.state.document import PendingOperation


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


def unresolved(operation: PendingOperation) -> Unresolved:
    """The operation as the plan shows it, with the exact commands that settle it."""
    address = Address.parse(operation.address)
    noun = "job" if address.kind is ResourceKind.JOB else "workspace"
    sent = operation.sent_at.isoformat()
    forget = f"rmapply state forget-intent {address}"
    if operation.action == "create":
        name = operation.details.get("name")
        named = f" named {name!r}" if name else ""
        placeholder = "JOB_ID" if noun == "job" else "WORKSPACE_ID"
        message = (
            f"the create of {address} was sent at {sent} but no answer came: a {noun}{named} may"
            " exist remotely; rmapply will not create it again until this is settled"
        )
        commands: tuple[str, ...] = (f"rmapply import {address} {placeholder}", forget)
    else:
        message = (
            f"the {operation.action} of {address} was sent at {sent} but no answer came: it may"
            " have taken effect; nothing is planned for it until this is settled"
        )
        commands = (forget,)
    return Unresolved(
        address=address,
        operation=operation.action,
        sent_at=operation.sent_at,
        request_digest=operation.request_digest,
        details=operation.details,
        message=message,
        commands=commands,
    )
