"""check_saved_plan: freshness, endpoint and lineage hand-over of a saved plan, on plain values."""

from __future__ import annotations

import pytest

from rmapply.errors import PlanError, StalePlanError
from rmapply.plan import check_saved_plan
from rmapply.plan.planfile import SavedPlan, saved_plan
from rmapply.state import StateDocument
from tests.factories import LINEAGE, main_workspace_record, make_desired, make_job_spec, make_state
from tests.plan.planning import plan_for

MANIFESTS = "sha256:" + "1" * 64
VARIABLES = "sha256:" + "2" * 64
SERVICE = "https://api.bentley.com/contextcapture"


def _saved(state: StateDocument, *, existed: bool = True) -> SavedPlan:
    plan = plan_for(make_desired({"a": make_job_spec()}), state)
    return saved_plan(
        plan,
        state=state,
        state_existed=existed,
        manifest_digest=MANIFESTS,
        vars_digest=VARIABLES,
        endpoint=SERVICE,
    )


def _check(saved: SavedPlan, state: StateDocument | None, endpoint: str | None = SERVICE) -> str:
    return check_saved_plan(
        saved, state, manifest_digest=MANIFESTS, vars_digest=VARIABLES, endpoint=endpoint
    )


def test_a_fresh_saved_plan_passes_and_the_state_keeps_its_lineage() -> None:
    state = make_state(main_workspace_record())
    assert _check(_saved(state), state) == LINEAGE


def test_a_plan_made_from_no_state_hands_its_lineage_to_the_new_state() -> None:
    planned = StateDocument()
    saved = _saved(planned, existed=False)
    assert _check(saved, None) == planned.lineage
    # the store's empty document has a lineage of its own: the plan's wins
    assert _check(saved, StateDocument()) == planned.lineage


def test_a_saved_plan_is_refused_against_another_endpoint() -> None:
    state = make_state(main_workspace_record())
    with pytest.raises(PlanError) as caught:
        _check(_saved(state), state, "https://proxy.example.com/contextcapture")
    assert type(caught.value) is PlanError
    assert caught.value.message == (
        f"the saved plan was made against {SERVICE}, not https://proxy.example.com/contextcapture"
    )
    assert caught.value.hint == "apply it against the endpoint it was made for, or plan again"


def test_the_endpoint_is_compared_and_named_without_its_credentials() -> None:
    state = make_state(main_workspace_record())
    with_secret = "https://ci:s3cret@api.bentley.com/contextcapture?key=k3y"
    assert _check(_saved(state), state, with_secret) == LINEAGE
    with pytest.raises(PlanError) as caught:
        _check(_saved(state), state, "https://ci:s3cret@other.example.com/cc?key=k3y")
    assert "s3cret" not in caught.value.message and "k3y" not in caught.value.message
    assert caught.value.message.endswith("not https://other.example.com/cc")


def test_a_local_rehearsal_does_not_compare_the_endpoint() -> None:
    state = make_state(main_workspace_record())
    assert _check(_saved(state), state, endpoint=None) == LINEAGE


def test_a_stale_plan_against_another_endpoint_names_both_problems_at_once() -> None:
    state = make_state(main_workspace_record())
    moved_on = state.model_copy(update={"serial": state.serial + 1})
    with pytest.raises(StalePlanError) as caught:
        _check(_saved(state), moved_on, "http://127.0.0.1:9/cc")
    assert caught.value.message == (
        "the saved plan is stale:\n"
        "  serial: the plan has 4, the state has 5\n"
        f"  endpoint: the saved plan was made against {SERVICE}, not http://127.0.0.1:9/cc"
    )
    assert caught.value.hint == (
        "make a new plan with 'rmapply plan --out FILE' and review it again"
    )


def test_a_saved_plan_is_refused_when_manifests_or_variables_changed() -> None:
    state = make_state(main_workspace_record())
    with pytest.raises(StalePlanError) as caught:
        check_saved_plan(
            _saved(state),
            state,
            manifest_digest="sha256:other",
            vars_digest="sha256:others",
            endpoint=SERVICE,
        )
    assert caught.value.message == (
        "the saved plan is stale:\n"
        "  manifests: the rendered manifests differ from the planned ones\n"
        "  variables: the variables differ from the planned ones"
    )


def test_a_saved_plan_is_refused_once_its_state_is_gone_or_written() -> None:
    state = make_state(main_workspace_record())
    with pytest.raises(StalePlanError, match=r"the state \(lineage .*\) no longer exists"):
        _check(_saved(state), None)
    with pytest.raises(StalePlanError, match="was written since the plan was made from no state"):
        _check(_saved(StateDocument(), existed=False), state)
