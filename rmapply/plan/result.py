"""The Plan: ordered actions, remote changes, warnings, unresolved operations and a summary."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from datetime import datetime
from typing import TYPE_CHECKING

from rmapply.plan.actions import (
    Action,
    ActionType,
    PlanValue,
)
from rmapply.plan.drift import RemoteChangeCategory
from rmapply.plan.values import made_later

# 2: camelCase keys (the API's dialect) and a reasonCode on every action
PLAN_FORMAT_VERSION = 2


if TYPE_CHECKING:
    from rmapply.plan.changes import AnyAction
    from rmapply.plan.reported import RemoteChange, Settled, Unresolved
else:
    AnyAction = made_later("rmapply.plan.changes", "AnyAction")
    RemoteChange = made_later("rmapply.plan.reported", "RemoteChange")
    Settled = made_later("rmapply.plan.reported", "Settled")
    Unresolved = made_later("rmapply.plan.reported", "Unresolved")


class CostSummary(PlanValue):
    """The cost of the jobs the plan runs."""

    total: float  # of the known figures
    includes_estimates: bool  # some figures come from the local cost model
    unknown: int  # running jobs without a figure
    jobs: int  # jobs the plan runs


class Summary(PlanValue):
    """Counts by action (every action type, zeros included), cost, remote changes."""

    counts: dict[ActionType, int]
    cost: CostSummary
    remote_changes: int
    drift: int
    unresolved: int
    waiting: int = 0  # submits that wait for upstream jobs still running: nothing to do now


class Plan(PlanValue):
    """What apply would do, in order, and everything the user should know before it does."""

    format_version: int = PLAN_FORMAT_VERSION
    planned_at: datetime
    refresh_only: bool = False
    targets: tuple[str, ...] = ()
    actions: tuple[AnyAction, ...]
    remote_changes: tuple[RemoteChange, ...] = ()
    warnings: tuple[str, ...] = ()
    unresolved: tuple[Unresolved, ...] = ()
    settled: tuple[Settled, ...] = ()
    summary: Summary

    @property
    def to_apply(self) -> tuple[Action, ...]:
        """The actions that do something (no no-ops)."""
        return tuple(a for a in self.actions if a.action is not ActionType.NOOP)

    @property
    def drift(self) -> tuple[RemoteChange, ...]:
        """Remote changes made outside rmapply (not progress, not gone)."""
        return tuple(c for c in self.remote_changes if c.category is RemoteChangeCategory.DRIFT)

    @property
    def drift_or_gone(self) -> tuple[RemoteChange, ...]:
        """Remote changes a drift check reports: drift and gone objects, never a job's progress."""
        return tuple(
            c for c in self.remote_changes if c.category is not RemoteChangeCategory.PROGRESS
        )

    @property
    def anything_to_apply(self) -> bool:
        """True when apply would change something (with refresh_only: accept remote changes)."""
        if self.refresh_only:
            return bool(self.remote_changes)
        # a submit that only waits for running upstream jobs is nothing to do now
        return any(a.action is not ActionType.NOOP and not a.waits for a in self.actions)

    def action_for(self, address: str) -> Action | None:
        """The action planned for ``address`` (``jobs.site-a``), if any (a linear search)."""
        for action in self.actions:
            if str(action.address) == address:
                return action
        return None

    def by_address(self) -> dict[str, Action]:
        """Every action by address (``jobs.site-a``): one dict for many lookups."""
        return {str(a.address): a for a in self.actions}
