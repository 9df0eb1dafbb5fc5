"""The saved plan: round trip, what it records, nothing secret, staleness and bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rmapply.errors import PlanError, StalePlanError
from rmapply.plan import Plan, RemoteView, check_fresh, load_plan, save_plan
from rmapply.plan.planfile import (
    SavedPlan,
    dump_saved_plan,
    parse_saved_plan,
    plan_seal,
    saved_plan,
)
from rmapply.state import StateDocument
from tests.factories import (
    LINEAGE,
    main_workspace_record,
    make_desired,
    make_job_spec,
    make_pending,
    make_record,
    make_state,
)
from tests.plan.planning import plan_for
from tests.plan.test_planner_properties import scenarios

MANIFESTS = "sha256:" + "1" * 64
VARIABLES = "sha256:" + "2" * 64


def _sealed(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "seal": plan_seal(data)}


def _saved(plan: Plan, state: StateDocument, *, existed: bool = True, **kw: Any) -> SavedPlan:
    return saved_plan(
        plan,
        state=state,
        state_existed=existed,
        manifest_digest=kw.get("manifests", MANIFESTS),
        vars_digest=kw.get("variables", VARIABLES),
        endpoint=kw.get("endpoint", "https://api.bentley.com/contextcapture"),
    )


def _rich() -> tuple[Plan, StateDocument]:
    state = make_state(
        main_workspace_record(),
        make_record("jobs.old", "job-o", make_job_spec(), state="success"),
        make_record("jobs.b", "job-b", make_job_spec(name="B")),
        pending=[make_pending("jobs.p", name="P")],
    )
    desired = make_desired(
        {"a": make_job_spec(), "b": make_job_spec(name="B2"), "p": make_job_spec()}
    )
    return plan_for(desired, state), state


def test_saved_plan_round_trips_through_a_file(tmp_path: Path) -> None:
    plan, state = _rich()
    path = tmp_path / "plan.json"
    save_plan(path, _saved(plan, state))
    loaded = load_plan(path)
    assert loaded.plan == plan
    assert (loaded.lineage, loaded.serial, loaded.state_existed) == (LINEAGE, 4, True)
    assert (loaded.manifest_digest, loaded.vars_digest) == (MANIFESTS, VARIABLES)
    assert loaded.endpoint == "https://api.bentley.com/contextcapture"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [a["precondition"]["inState"] for a in data["plan"]["actions"]] == [
        False,
        True,
        True,
        True,
    ]
    assert dump_saved_plan(loaded) == path.read_text(encoding="utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_any_plan_round_trips_through_its_text(
    scenario: tuple[Any, StateDocument, RemoteView | None],
) -> None:
    desired, state, remote = scenario
    plan = plan_for(desired, state, remote)
    saved = _saved(plan, state)
    assert parse_saved_plan(dump_saved_plan(saved)) == saved


def test_saved_plan_keeps_no_credentials_of_the_endpoint() -> None:
    plan, state = _rich()
    endpoint = "https://ci-user:s3cret-token@example.com:8443/contextcapture?subscription-key=k3y#x"
    text = dump_saved_plan(_saved(plan, state, endpoint=endpoint))
    assert "s3cret-token" not in text and "k3y" not in text and "ci-user" not in text
    assert json.loads(text)["endpoint"] == "https://example.com:8443/contextcapture"


def test_fresh_plan_passes_the_check() -> None:
    plan, state = _rich()
    check_fresh(_saved(plan, state), state, MANIFESTS, VARIABLES)


def test_stale_plan_names_everything_that_changed() -> None:
    plan, state = _rich()
    changed = state.model_copy(update={"lineage": "other-lineage", "serial": 5})
    with pytest.raises(StalePlanError) as caught:
        check_fresh(_saved(plan, state), changed, "sha256:new", "sha256:newer")
    assert caught.value.message == (
        "the saved plan is stale:\n"
        f"  lineage: the plan has {LINEAGE}, the state has other-lineage\n"
        "  serial: the plan has 4, the state has 5\n"
        "  manifests: the rendered manifests differ from the planned ones\n"
        "  variables: the variables differ from the planned ones"
    )
    assert caught.value.hint == (
        "make a new plan with 'rmapply plan --out FILE' and review it again"
    )


def test_plan_made_without_state_is_fresh_until_a_state_is_written() -> None:
    new_state = StateDocument()
    plan = plan_for(make_desired({"a": make_job_spec()}), new_state)
    saved = _saved(plan, new_state, existed=False)
    assert (saved.lineage, saved.serial, saved.state_existed) == (new_state.lineage, 0, False)
    check_fresh(saved, None, MANIFESTS, VARIABLES)
    check_fresh(saved, StateDocument(), MANIFESTS, VARIABLES)
    written = make_state(main_workspace_record(), serial=1, lineage="l-2")
    with pytest.raises(StalePlanError) as caught:
        check_fresh(saved, written, MANIFESTS, VARIABLES)
    assert caught.value.message == (
        "the saved plan is stale:\n"
        "  state: a state (lineage l-2, serial 1) was written since the plan was made from no state"
    )


def test_plan_is_stale_when_its_state_was_removed() -> None:
    plan, state = _rich()
    with pytest.raises(StalePlanError) as caught:
        check_fresh(_saved(plan, state), None, MANIFESTS, VARIABLES)
    assert caught.value.message == (
        f"the saved plan is stale:\n  state: the state (lineage {LINEAGE}) no longer exists"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "p.json: not a plan file (invalid JSON at line 1: Expecting property name"
         " enclosed in double quotes)"),
        ('{"format": "terraform"}', 'p.json: not a plan file (no "format": "rmapply-plan")'),
        ('{"format": "rmapply-plan", "format_version": 9}',
         "p.json: plan file format 9 is newer than this rmapply understands (2)"),
        ('{"format": "rmapply-plan", "format_version": 1}',
         "p.json: plan file format 1 was written by an older rmapply; this one reads format 2"
         " (camelCase keys, sealed)"),
        ('{"format": "rmapply-plan", "format_version": 2, "seal": "x"}',
         "p.json: plan file format 2 was written by an older rmapply; this one reads format 2"
         " (camelCase keys, sealed)"),
        ('{"format": "rmapply-plan", "formatVersion": 1}',
         "p.json: plan file format 1 was written by an older rmapply; this one reads format 2"
         " (camelCase keys, sealed)"),
        ('{"format": "rmapply-plan", "formatVersion": 2}',
         "plan file p.json has no seal (written by an older rmapply, or the seal was removed),"
         " so it cannot be checked for changes"),
        ('{"format": "rmapply-plan", "formatVersion": 2, "seal": "sha256:'
         '1e0e1ddab5b18ff47d3f9d6c5af0ef2ea19dc2f4d8ae1e8d80fb4c5e2d3a3b32"}',
         "plan file p.json was changed after it was written (digest mismatch)"),
        (json.dumps(_sealed({"format": "rmapply-plan", "formatVersion": 2})),
         "p.json: damaged plan file: lineage: Field required (7 problem(s))"),
    ],
)  # fmt: skip
def test_loading_a_bad_plan_file_names_the_file_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert caught.value.message == message.replace("p.json", str(path))


def test_loading_a_missing_plan_file_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as caught:
        load_plan(tmp_path / "absent.json")
    assert caught.value.message == (
        f"{tmp_path / 'absent.json'}: cannot read the plan file: No such file or directory"
    )


def test_saving_into_a_missing_folder_is_a_plan_error(tmp_path: Path) -> None:
    plan, state = _rich()
    target = tmp_path / "no" / "plan.json"
    with pytest.raises(PlanError) as caught:
        save_plan(target, _saved(plan, state))
    assert caught.value.message == (
        f"{target}: cannot write the plan file: No such file or directory"
    )
    assert caught.value.hint == "choose a writable place for --out"
