"""A Plan as text for a terminal: markers, field diffs, reasons, cost and a summary line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rmapply.model import FieldClass
from rmapply.plan import (
    KNOWN_AFTER_APPLY,
    Action,
    ActionType,
    FieldDiff,
    Plan,
    RemoteChangeCategory,
    ReplaceJob,
    Retire,
    UpdateJob,
    format_cost,
)
from rmapply.plan.actions import _Resolvable
from rmapply.plan.diff import describe_diff, describe_value

if TYPE_CHECKING:
    from rmapply.plan.reported import RemoteChange

MARKERS = {
    ActionType.CREATE: "+",
    ActionType.UPDATE: "~",
    ActionType.REPLACE: "-/+",
    ActionType.DELETE: "-",
    ActionType.SUBMIT: ">",
    ActionType.FORGET: "x",
    ActionType.RECORD: "=",
    ActionType.NOOP: " ",
}
# the actions with a body to show: CreateJob, CreateWorkspace, ReplaceJob, ReplaceWorkspace (told
# by type: rmapply.plan.changes is imported only when a plan changes something)
_CREATES = (ActionType.CREATE, ActionType.REPLACE)
_COLOURS = {
    ActionType.CREATE: "32",  # green
    ActionType.UPDATE: "33",  # yellow
    ActionType.REPLACE: "35",  # magenta
    ActionType.DELETE: "31",  # red
    ActionType.SUBMIT: "36",  # cyan
    ActionType.FORGET: "2",  # dim
    ActionType.RECORD: "34",  # blue
    ActionType.NOOP: "0",
}
_CLASS_NOTES = {
    FieldClass.COSMETIC: "cosmetic",
    FieldClass.ESTIMATE: "estimate only",
    FieldClass.RECONCILER: "rmapply only",
}
INDENT = "      "


class Painter:
    """ANSI colour when asked, plain text otherwise."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        """``text`` in colour ``code`` (an SGR number such as ``"32"``)."""
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text


def headline(action: Action) -> str:
    """What the action does, in a few words: ``update in place, then submit``."""
    words = {
        ActionType.CREATE: "create",
        ActionType.UPDATE: "update in place",
        ActionType.REPLACE: "replace",
        ActionType.DELETE: "delete",
        ActionType.SUBMIT: "submit",
        ActionType.FORGET: "forget (state only)",
        ActionType.RECORD: "record (state only)",
        ActionType.NOOP: "no change",
    }[action.action]
    if isinstance(action, ReplaceJob):
        words += {
            Retire.DELETE: " (old job deleted)",
            Retire.CANCEL: " (old job cancelled)",
            Retire.KEEP: " (old job kept)",
        }[action.retire]
    if action.action is ActionType.FORGET and action.request is not None:  # Forget
        words = "cancel, then forget"
    if isinstance(action, _Resolvable | UpdateJob) and action.submit:  # or CreateJob, ReplaceJob
        words += ", then submit"
    return words


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of a JSON body as (path, value); lists of plain values stay whole."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def diff_line(change: FieldDiff) -> str:
    """A field diff, with its class when it does not re-run anything."""
    note = _CLASS_NOTES.get(change.field_class)
    return describe_diff(change) + (f"  # {note}" if note else "")


def action_lines(action: Action, paint: Painter) -> list[str]:
    """The block of one action: headline, remote id, body or diff, reasons, cost."""
    marker = MARKERS[action.action]
    colour = _COLOURS[action.action]
    lines = [paint(f"  {marker} {action.address}", colour) + f": {headline(action)}"]
    if action.precondition.in_state:
        noun = "job" if action.kind == "job" else "workspace"
        lines.append(f"{INDENT}{noun}: {action.precondition.describe().removeprefix('id ')}")
    # a CreateJob, CreateWorkspace, ReplaceJob or ReplaceWorkspace (each has a request body)
    if action.action in _CREATES and action.request is not None and not action.diff:
        for path, value in flatten(action.request.to_wire()):
            # a placeholder is not a value: shown bare, as the plan fills it
            placeholder = isinstance(value, str) and value.startswith(KNOWN_AFTER_APPLY)
            shown = value if placeholder else describe_value(value)
            if value == KNOWN_AFTER_APPLY and isinstance(action, _Resolvable):
                source = action.cache_ref if path.endswith("useCache") else action.workspace_ref
                shown = f"{KNOWN_AFTER_APPLY} from {source}"
            lines.append(f"{INDENT}{path}: {shown}")
    for change in action.diff:
        lines.append(f"{INDENT}{diff_line(change)}")
    # the machine-readable code (JSON reasonCode) closes the last sentence, dimmed
    code = paint(f"[{action.reason_code.value}]", "2")
    *first, last = action.reasons or ("",)
    lines += [f"{INDENT}why: {reason}" for reason in first]
    lines.append(f"{INDENT}why: {last} {code}" if last else f"{INDENT}why: {code}")
    if action.cost is not None:
        lines.append(f"{INDENT}cost: {action.cost.describe()}")
    return lines


def remote_change_lines(change: RemoteChange) -> list[str]:
    """One remote change: where, what, and its field differences."""
    lines = [f"  {change.address} ({change.kind} {change.remote_id}): {change.message}"]
    if change.category is RemoteChangeCategory.DRIFT:
        lines += [f"{INDENT}{describe_diff(c)}" for c in change.diff]
    return lines


def summary_line(plan: Plan) -> str:
    """``Plan: 2 to create, 1 to update, 1 to replace, 0 to delete; estimated cost 12.5.``"""
    counts = plan.summary.counts
    if plan.refresh_only:
        n = plan.summary.remote_changes
        if not n:
            return "No remote changes: the state is up to date."
        return f"Refresh only: {n} remote change(s) to accept into the state; nothing else."
    waiting = plan.summary.waiting
    if not plan.anything_to_apply:
        unchanged = counts.get(ActionType.NOOP, 0)
        if waiting:
            return (
                f"Nothing to do now: {waiting} submit(s) wait for upstream jobs still running;"
                f" {unchanged} resource(s) match the manifests."
            )
        return f"No changes: {unchanged} resource(s) match the manifests."
    main = ", ".join(
        f"{counts.get(t, 0)} to {t.value}"
        for t in (ActionType.CREATE, ActionType.UPDATE, ActionType.REPLACE, ActionType.DELETE)
    )
    extra = ", ".join(
        f"{counts[t]} to {t.value}"
        for t in (ActionType.SUBMIT, ActionType.FORGET, ActionType.RECORD)
        if counts.get(t)
    )
    if waiting:
        extra += f"{', ' if extra else ''}{waiting} waiting for inputs"
    text = f"Plan: {main}" + (f"; {extra}" if extra else "")
    cost = plan.summary.cost
    if not cost.jobs:
        return text + "; no job will run."
    text += f"; estimated cost {format_cost(cost.total)}"
    notes = []
    if cost.includes_estimates:
        notes.append("includes local estimates")
    if cost.unknown:
        notes.append(f"{cost.unknown} job(s) of unknown cost not counted")
    return text + (f" ({'; '.join(notes)})" if notes else "") + "."


def render_plan_text(plan: Plan, *, color: bool = False) -> str:
    """The whole plan for a terminal; ``color`` adds ANSI colours (the CLI decides)."""
    paint = Painter(color)
    out: list[str] = []
    if plan.unresolved:
        title = "Unresolved operations (settle them first; nothing is planned for them):"
        out.append(paint(title, "1;31"))
        for item in plan.unresolved:
            out.append(f"  ! {item.address}: {item.message}")
            out.extend(f"{INDENT}{command}" for command in item.commands)
        out.append("")
    if plan.settled:
        recorded = all(s.recorded for s in plan.settled)
        note = "recorded in the state" if recorded else "apply records them; this plan assumes them"
        out.append(paint(f"Unknown outcomes settled from what the service shows ({note}):", "1"))
        out.extend(
            f"  {s.address}: unknown outcome of {s.operation}: {s.outcome} ({s.message})"
            for s in plan.settled
        )
        out.append("")
    drift = [c for c in plan.remote_changes if c.category is RemoteChangeCategory.DRIFT]
    others = [c for c in plan.remote_changes if c.category is not RemoteChangeCategory.DRIFT]
    if drift:
        out.append(paint("Changed outside rmapply (drift):", "1;33"))
        for change in drift:
            out.extend(remote_change_lines(change))
        out.append("")
    if others:
        out.append(paint("Remote changes since the state last saw them:", "1"))
        for change in others:
            out.extend(remote_change_lines(change))
        out.append("")
    changes = plan.to_apply
    if changes:
        out.append(paint("rmapply will perform these actions, in this order:", "1"))
        for action in changes:
            out.append("")
            out.extend(action_lines(action, paint))
        out.append("")
    if plan.warnings:
        out.append(paint("Warnings:", "1;33"))
        out.extend(f"  - {w}" for w in plan.warnings)
        out.append("")
    out.append(paint(summary_line(plan), "1"))
    return "\n".join(out) + "\n"
