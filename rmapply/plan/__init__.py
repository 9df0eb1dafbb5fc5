"""Decide, purely: desired state + state + remote view -> an ordered Plan (see docs/plan.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmapply.lazy_exports import exported_on_first_use

if TYPE_CHECKING:
    from rmapply.plan.actions import (
        GONE,
        KNOWN_AFTER_APPLY,
        Action,
        ActionType,
        CostSource,
        CreateJob,
        CreateWorkspace,
        DeleteJob,
        DeleteWorkspace,
        FieldDiff,
        Forget,
        JobCost,
        NoOp,
        Precondition,
        ReasonCode,
        Record,
        ReplaceJob,
        ReplaceWorkspace,
        Retire,
        SubmitJob,
        UpdateJob,
        format_cost,
    )
    from rmapply.plan.context import PlanOptions
    from rmapply.plan.cost import CostModel
    from rmapply.plan.drift import RemoteChangeCategory
    from rmapply.plan.planfile import SavedPlan, check_fresh, check_saved_plan, load_plan, save_plan
    from rmapply.plan.planner import build_plan
    from rmapply.plan.remote import RemoteView, Sighting
    from rmapply.plan.reported import RemoteChange, Settled, Unresolved
    from rmapply.plan.result import (
        PLAN_FORMAT_VERSION,
        CostSummary,
        Plan,
        Summary,
    )


# Each name is imported from its module on first use (PEP 562): a command imports only the
# modules it uses, e.g. a plan without --out never imports saved plans (rmapply.plan.planfile).
_MODULES = {
    "GONE": "rmapply.plan.actions",
    "KNOWN_AFTER_APPLY": "rmapply.plan.actions",
    "Action": "rmapply.plan.actions",
    "ActionType": "rmapply.plan.actions",
    "CostSource": "rmapply.plan.actions",
    "CreateJob": "rmapply.plan.actions",
    "CreateWorkspace": "rmapply.plan.actions",
    "DeleteJob": "rmapply.plan.actions",
    "DeleteWorkspace": "rmapply.plan.actions",
    "FieldDiff": "rmapply.plan.actions",
    "Forget": "rmapply.plan.actions",
    "JobCost": "rmapply.plan.actions",
    "NoOp": "rmapply.plan.actions",
    "Precondition": "rmapply.plan.actions",
    "ReasonCode": "rmapply.plan.actions",
    "Record": "rmapply.plan.actions",
    "ReplaceJob": "rmapply.plan.actions",
    "ReplaceWorkspace": "rmapply.plan.actions",
    "Retire": "rmapply.plan.actions",
    "SubmitJob": "rmapply.plan.actions",
    "UpdateJob": "rmapply.plan.actions",
    "format_cost": "rmapply.plan.actions",
    "PlanOptions": "rmapply.plan.context",
    "CostModel": "rmapply.plan.cost",
    "RemoteChange": "rmapply.plan.reported",
    "RemoteChangeCategory": "rmapply.plan.drift",
    "SavedPlan": "rmapply.plan.planfile",
    "check_fresh": "rmapply.plan.planfile",
    "check_saved_plan": "rmapply.plan.planfile",
    "load_plan": "rmapply.plan.planfile",
    "save_plan": "rmapply.plan.planfile",
    "build_plan": "rmapply.plan.planner",
    "RemoteView": "rmapply.plan.remote",
    "Sighting": "rmapply.plan.remote",
    "PLAN_FORMAT_VERSION": "rmapply.plan.result",
    "CostSummary": "rmapply.plan.result",
    "Plan": "rmapply.plan.result",
    "Settled": "rmapply.plan.reported",
    "Summary": "rmapply.plan.result",
    "Unresolved": "rmapply.plan.reported",
}


if not TYPE_CHECKING:  # mypy sees the imports above (and still flags a name not among them)
    __getattr__ = exported_on_first_use(__name__, _MODULES, globals())


__all__ = [
    "GONE",
    "KNOWN_AFTER_APPLY",
    "PLAN_FORMAT_VERSION",
    "Action",
    "ActionType",
    "CostModel",
    "CostSource",
    "CostSummary",
    "CreateJob",
    "CreateWorkspace",
    "DeleteJob",
    "DeleteWorkspace",
    "FieldDiff",
    "Forget",
    "JobCost",
    "NoOp",
    "Plan",
    "PlanOptions",
    "Precondition",
    "ReasonCode",
    "Record",
    "RemoteChange",
    "RemoteChangeCategory",
    "RemoteView",
    "ReplaceJob",
    "ReplaceWorkspace",
    "Retire",
    "SavedPlan",
    "Settled",
    "Sighting",
    "SubmitJob",
    "Summary",
    "Unresolved",
    "UpdateJob",
    "build_plan",
    "check_fresh",
    "check_saved_plan",
    "format_cost",
    "load_plan",
    "save_plan",
]
