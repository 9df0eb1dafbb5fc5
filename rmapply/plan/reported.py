"""What a plan reports beside its actions: remote changes, and operations of unknown outcome
(unresolved or settled). Made on first use: a no-op plan without refresh reports none of them
(Plan's fields name them through stand-ins, rmapply.plan.result)."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from datetime import datetime
from typing import Any, Literal

from rmapply.plan.actions import AddressField, FieldDiff, PlanValue
from rmapply.plan.drift import RemoteChangeCategory


class RemoteChange(PlanValue):
    """One remote change; accepting it stores ``remote`` in the record (or drops it when gone)."""

    address: AddressField
    kind: Literal["job", "workspace"]
    remote_id: str
    category: RemoteChangeCategory
    diff: tuple[FieldDiff, ...] = ()
    remote: dict[str, Any] | None = None  # the object seen now; None when gone
    message: str


class Unresolved(PlanValue):
    """A request of unknown outcome from an earlier apply, and the commands that settle it."""

    address: AddressField
    operation: str  # "create", "submit", "delete", ...
    sent_at: datetime
    request_digest: str
    details: dict[str, Any]
    message: str
    commands: tuple[str, ...]


class Settled(PlanValue):
    """A request of unknown outcome from an earlier apply, settled from what the service shows
    now: the plan is made as if it were settled (apply records it; ``plan --out`` already did)."""

    address: AddressField
    operation: str  # "create", "submit", "delete", ...
    outcome: Literal["adopted", "done", "not done"]
    message: str
    remote_id: str | None = None
    recorded: bool = False  # True once written into the state


__all__ = ["RemoteChange", "Settled", "Unresolved"]
