"""The shipped CI workflows (docs/ci/) run only rmapply commands and options that exist."""

from __future__ import annotations

from tests.e2e.workflows import (
    CARRY_FORWARD,
    DRIFT,
    MERGE,
    PULL_REQUEST,
    github_commands,
    gitlab_commands,
    problems_of,
)


def test_every_rmapply_command_of_both_workflows_exists_with_those_options() -> None:
    lines = [
        line for c in (github_commands(), gitlab_commands()) for ls in c.values() for line in ls
    ]
    assert len(lines) >= 12  # both files were read and hold the whole flow
    assert [p for line in lines for p in problems_of(line)] == []


def test_both_workflows_run_the_same_rmapply_commands_in_every_stage() -> None:
    github, gitlab = github_commands(), gitlab_commands()
    for stage in (PULL_REQUEST, MERGE, DRIFT, CARRY_FORWARD):
        assert github[stage], stage
        assert github[stage] == gitlab[stage], stage


def test_the_workflows_plan_in_review_apply_the_saved_plan_and_check_drift() -> None:
    github = github_commands()
    assert any(" validate" in line for line in github[PULL_REQUEST])
    assert any("--out plan.json" in line for line in github[PULL_REQUEST])
    assert any("--format markdown" in line for line in github[PULL_REQUEST])
    assert github[MERGE] == [line for line in github[MERGE] if " plan.json" in line]
    assert all("--auto-approve" not in line for line in github[MERGE])  # exactly the saved plan
    assert github[DRIFT] == ["rmapply plan -C manifests --refresh-only --detailed-exitcode"]


def test_the_command_check_names_an_unknown_command_option_or_value() -> None:
    assert problems_of("rmapply plan -C manifests --out plan.json") == []
    assert problems_of("rmapply state init -C manifests") == []
    assert problems_of("rmapply plan --refreshonly") == [
        "rmapply plan --refreshonly: rmapply plan has no option --refreshonly"
    ]
    assert problems_of("rmapply show plan.json --format html > plan.md") == [
        "rmapply show plan.json --format html > plan.md: --format does not accept 'html'"
    ]
    assert problems_of("rmapply deploy -C manifests") == [
        "rmapply deploy -C manifests: no command rmapply deploy"
    ]
    assert problems_of("rmapply state -C x") == [
        "rmapply state -C x: rmapply state needs a subcommand"
    ]
    assert problems_of("rmapply validate extra") == [
        "rmapply validate extra: rmapply validate takes 0 argument(s)"
    ]
