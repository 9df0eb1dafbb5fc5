"""The three plan renderers against golden files, and what each promises."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from rmapply.model import Address
from rmapply.output.plan_json import plan_json_schema, render_plan_json
from rmapply.output.plan_markdown import render_plan_markdown
from rmapply.output.plan_text import render_plan_text, summary_line
from rmapply.plan import Plan, Settled
from tests.factories import make_desired
from tests.output.scenario import full_plan, refresh_only_plan, unchanged_plan
from tests.plan.planning import plan_for
from tests.schemas import SCHEMAS, assert_valid

Golden = Callable[[str, str], None]


def test_text_rendering_matches_golden_file(golden: Golden) -> None:
    golden("full.txt", render_plan_text(full_plan()))


def test_text_rendering_in_colour_matches_golden_file(golden: Golden) -> None:
    golden("full.color.txt", render_plan_text(full_plan(), color=True))


def test_json_rendering_matches_golden_file(golden: Golden) -> None:
    golden("full.json", render_plan_json(full_plan()))


def test_markdown_rendering_matches_golden_file(golden: Golden) -> None:
    golden("full.md", render_plan_markdown(full_plan()))


def test_unchanged_and_refresh_only_plans_match_golden_files(golden: Golden) -> None:
    golden("unchanged.txt", render_plan_text(unchanged_plan()))
    golden("unchanged.md", render_plan_markdown(unchanged_plan()))
    golden("refresh-only.txt", render_plan_text(refresh_only_plan()))
    golden("refresh-only.json", render_plan_json(refresh_only_plan()))


def test_text_without_colour_has_no_escape_codes() -> None:
    assert "\x1b[" not in render_plan_text(full_plan(), color=False)
    assert "\x1b[32m  + workspaces.new\x1b[0m: create" in render_plan_text(full_plan(), color=True)


def test_text_marks_workspace_ids_known_only_after_apply() -> None:
    text = render_plan_text(full_plan())
    assert "      workspaceId: (known after apply) from workspaces.new\n" in text


def test_summary_line_counts_actions_and_cost() -> None:
    assert summary_line(full_plan()) == (
        "Plan: 5 to create, 1 to update, 2 to replace, 2 to delete; 1 to submit, 1 to forget,"
        " 1 to record; estimated cost 21 (includes local estimates; 1 job(s) of unknown cost not"
        " counted)."
    )
    assert summary_line(unchanged_plan()) == "No changes: 2 resource(s) match the manifests."
    only_workspace = plan_for(make_desired())
    assert summary_line(only_workspace) == (
        "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete; no job will run."
    )


def test_json_is_stable_across_runs_for_the_same_input() -> None:
    assert render_plan_json(full_plan()) == render_plan_json(full_plan())
    data = json.loads(render_plan_json(full_plan()))
    assert data["formatVersion"] == 2
    assert data["plannedAt"] == "2024-05-01T12:00:00Z"


def test_json_round_trips_to_the_same_plan() -> None:
    plan = full_plan()
    assert Plan.model_validate_json(render_plan_json(plan)) == plan


def test_json_output_validates_against_the_shipped_schema() -> None:
    for plan in (full_plan(), unchanged_plan(), refresh_only_plan()):
        assert_valid("plan", json.loads(render_plan_json(plan)))


def test_json_speaks_the_apis_camel_case_with_a_reason_code_per_action() -> None:
    data = json.loads(render_plan_json(full_plan()))
    keys = set(data) | {k for a in data["actions"] for k in a}
    keys |= {k for a in data["actions"] for k in a["precondition"]}
    assert not [k for k in keys if "_" in k]
    assert {"afterDigest", "reasonCode", "inState", "remoteChanges"} <= keys
    codes = {a["address"]: a["reasonCode"] for a in data["actions"]}
    assert codes["jobs.rerun"] == "rerun-field-changed"


def test_shipped_schema_is_the_one_generated_from_the_models() -> None:
    path = SCHEMAS / "plan.schema.json"
    generated = json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("RMAPPLY_UPDATE_GOLDEN") == "1":
        path.write_text(generated, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == generated, (
        "regenerate docs/schemas/plan.schema.json: RMAPPLY_UPDATE_GOLDEN=1 pytest tests/output"
    )


def test_markdown_puts_the_summary_first_and_folds_the_details() -> None:
    text = render_plan_markdown(full_plan())
    lines = text.splitlines()
    assert lines[:3] == ["### rmapply plan", "", f"**{summary_line(full_plan())}**"]
    assert "<details><summary>Details</summary>" in lines
    assert (
        "| `-/+` | `jobs.rerun` | replace (old job kept), then submit | `rerun-field-changed`"
        " | 3 (service figure) |" in lines
    )


def test_text_ends_each_actions_reasons_with_its_reason_code() -> None:
    plain = render_plan_text(full_plan()).splitlines()
    block = plain[plain.index("  -/+ jobs.rerun: replace (old job kept), then submit") :]
    why = next(line for line in block if line.startswith("      why: "))
    assert why.endswith("; its id moves to history [rerun-field-changed]"), why
    assert "\x1b[2m[rerun-field-changed]\x1b[0m" in render_plan_text(full_plan(), color=True)


def test_markdown_shows_each_actions_reason_code() -> None:
    lines = render_plan_markdown(full_plan()).splitlines()
    assert "| | Address | Action | Reason | Cost |" in lines
    (row,) = [line for line in lines if line.startswith("| `+` | `workspaces.new` |")]
    assert "| `new` |" in row


def test_settled_operations_are_shown_before_everything_else() -> None:
    settled = Settled(
        address=Address.job("lost"),
        operation="create",
        outcome="adopted",
        message="job job-9 (created 2024-05-01T11:59:00+00:00) matches the lost create",
        remote_id="job-9",
    )
    plan = unchanged_plan().model_copy(update={"settled": (settled,)})
    assert render_plan_text(plan).splitlines()[:3] == [
        "Unknown outcomes settled from what the service shows (apply records them; this plan"
        " assumes them):",
        "  jobs.lost: unknown outcome of create: adopted (job job-9 (created"
        " 2024-05-01T11:59:00+00:00) matches the lost create)",
        "",
    ]
    recorded = plan.model_copy(update={"settled": (settled.model_copy(update={"recorded": True}),)})
    assert "(recorded in the state):" in render_plan_text(recorded).splitlines()[0]
    markdown = render_plan_markdown(plan).splitlines()
    assert "**Unknown outcomes settled (1):**" in markdown
    assert (
        "- `jobs.lost`: create adopted: job job-9 (created 2024-05-01T11:59:00+00:00) matches the"
        " lost create"
    ) in markdown
    assert json.loads(render_plan_json(plan))["settled"] == [
        {
            "address": "jobs.lost",
            "operation": "create",
            "outcome": "adopted",
            "message": settled.message,
            "remoteId": "job-9",
            "recorded": False,
        }
    ]
