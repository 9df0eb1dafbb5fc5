"""Planner calls with the fixed clock and plain options, for the tests of this folder."""

from __future__ import annotations

from typing import Any

from rmapply.model import DesiredState
from rmapply.plan import Action, Plan, PlanOptions, RemoteView, build_plan
from rmapply.state import StateDocument
from tests.factories import NOW, make_state


def plan_for(
    desired: DesiredState,
    state: StateDocument | None = None,
    remote: RemoteView | None = None,
    **options: Any,
) -> Plan:
    """build_plan at NOW with PlanOptions(**options)."""
    return build_plan(
        desired, state or make_state(), remote, now=NOW, options=PlanOptions(**options)
    )


def action(plan: Plan, address: str) -> Action:
    """The action planned for ``address`` (fails the test when there is none)."""
    found = plan.action_for(address)
    assert found is not None, f"no action for {address}: {[str(a.address) for a in plan.actions]}"
    return found


def kinds(plan: Plan) -> dict[str, str]:
    """Address -> action type of every action, no-ops included."""
    return {str(a.address): a.action.value for a in plan.actions}
