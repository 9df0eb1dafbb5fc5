"""Decide, purely: desired state + state + remote view -> an ordered Plan (see docs/plan.md)."""

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
    FieldChange,
    Forget,
    JobCost,
    NoOp,
    Precondition,
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
from rmapply.plan.drift import ChangeCategory, RemoteChange
from rmapply.plan.planfile import SavedPlan, check_fresh, load_plan, save_plan
from rmapply.plan.planner import build_plan
from rmapply.plan.remote import RemoteView, Seen
from rmapply.plan.result import PLAN_FORMAT_VERSION, CostSummary, Plan, Summary, Unresolved

__all__ = [
    "GONE",
    "KNOWN_AFTER_APPLY",
    "PLAN_FORMAT_VERSION",
    "Action",
    "ActionType",
    "ChangeCategory",
    "CostModel",
    "CostSource",
    "CostSummary",
    "CreateJob",
    "CreateWorkspace",
    "DeleteJob",
    "DeleteWorkspace",
    "FieldChange",
    "Forget",
    "JobCost",
    "NoOp",
    "Plan",
    "PlanOptions",
    "Precondition",
    "Record",
    "RemoteChange",
    "RemoteView",
    "ReplaceJob",
    "ReplaceWorkspace",
    "Retire",
    "SavedPlan",
    "Seen",
    "SubmitJob",
    "Summary",
    "Unresolved",
    "UpdateJob",
    "build_plan",
    "check_fresh",
    "format_cost",
    "load_plan",
    "save_plan",
]
