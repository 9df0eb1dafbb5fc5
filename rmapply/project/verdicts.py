"""Verdicts on requests of unknown outcome folded into a plan: the settled document and plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rmapply.model import Address
from rmapply.plan import Plan, Settled
from rmapply.state import ResolveRecord, StateDocument
from rmapply.state.replay import apply_resolve

if TYPE_CHECKING:
    from rmapply.apply.recovery import Resolution


def settled_document(
    document: StateDocument, resolutions: Sequence[Resolution], now: datetime
) -> StateDocument:
    """A copy of ``document`` with the settled verdicts folded in, as apply would journal them."""
    from rmapply.apply.recovery import Outcome

    copy = document.model_copy(
        update={"resources": dict(document.resources), "pending": dict(document.pending)}
    )
    for resolution in resolutions:
        if resolution.outcome is Outcome.UNRESOLVED:
            continue
        apply_resolve(
            copy,
            ResolveRecord(
                address=resolution.address,
                upsert=resolution.record,
                remove=resolution.address if resolution.remove else None,
                at=now,
            ),
        )
    return copy


def with_verdicts(plan: Plan, resolutions: Sequence[Resolution], *, recorded: bool) -> Plan:
    """``plan`` showing the verdicts: settled ones, and the resolver's own words (candidates,
    commands) for those still unresolved."""
    from rmapply.apply.recovery import Outcome

    settled = tuple(
        Settled(
            address=Address.parse(r.address),
            operation=r.action,
            outcome=r.outcome.value,
            message=r.message,
            remote_id=r.remote_id,
            recorded=recorded,
        )
        for r in resolutions
        if r.outcome is not Outcome.UNRESOLVED
    )
    verdicts = {r.address: r for r in resolutions if r.outcome is Outcome.UNRESOLVED}
    unresolved = tuple(
        item.model_copy(
            update={
                "message": verdicts[str(item.address)].message,
                "commands": verdicts[str(item.address)].commands or item.commands,
            }
        )
        if str(item.address) in verdicts
        else item
        for item in plan.unresolved
    )
    return plan.model_copy(update={"settled": settled, "unresolved": unresolved})


__all__ = ["settled_document", "with_verdicts"]
