"""A Plan as Markdown for a pull-request comment: summary first, details folded."""

from __future__ import annotations

from rmapply.output.plan_text import MARKERS, headline, render_plan_text, summary_line
from rmapply.plan import Plan


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_plan_markdown(plan: Plan) -> str:
    """Summary line, what needs attention, a table of actions, and the full text folded."""
    out = ["### rmapply plan", "", f"**{summary_line(plan)}**", ""]
    if plan.unresolved:
        out.append(f"> **{len(plan.unresolved)} unresolved operation(s)**: settle them first.")
        out.extend(f"> - `{u.address}`: `{'` or `'.join(u.commands)}`" for u in plan.unresolved)
        out.append("")
    if plan.settled:
        out.append(f"**Unknown outcomes settled ({len(plan.settled)}):**")
        out.extend(
            f"- `{s.address}`: {s.operation} {s.outcome}: {_cell(s.message)}" for s in plan.settled
        )
        out.append("")
    if plan.drift:
        listed = ", ".join(f"`{c.address}`" for c in plan.drift)
        out += [f"**Changed outside rmapply:** {listed}", ""]
    if plan.warnings:
        out.append(f"**Warnings ({len(plan.warnings)}):**")
        out.extend(f"- {_cell(w)}" for w in plan.warnings)
        out.append("")
    changes = plan.to_apply
    if changes:
        out += ["| | Address | Action | Reason | Cost |", "|---|---|---|---|---|"]
        for action in changes:
            cost = action.cost.describe() if action.cost else ""
            out.append(
                f"| `{MARKERS[action.action]}` | `{action.address}` | {_cell(headline(action))}"
                f" | `{action.reason_code.value}` | {_cell(cost)} |"
            )
        out.append("")
    if changes or plan.remote_changes or plan.unresolved or plan.settled:
        out += [
            "<details><summary>Details</summary>",
            "",
            "```text",
            render_plan_text(plan, color=False).rstrip("\n"),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(out)
