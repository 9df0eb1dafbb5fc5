"""The plan file's seal: a file changed after it was written is refused; reformatted, it is not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.errors import PlanError
from rmapply.plan import RemoteView
from rmapply.plan.planfile import dump_saved_plan, parse_saved_plan, plan_seal, saved_plan
from rmapply.state import StateDocument
from tests.factories import main_workspace_record, make_desired, make_job_spec, make_state
from tests.plan.planning import plan_for
from tests.plan.test_planner_properties import scenarios

MANIFESTS = "sha256:" + "1" * 64
VARIABLES = "sha256:" + "2" * 64
CHANGED = "plan file plan.json was changed after it was written (digest mismatch)"
Path = tuple[str | int, ...]


def _plan_text(state: StateDocument | None = None, **jobs: Any) -> str:
    state = state or make_state()
    desired = make_desired(jobs or {"a": make_job_spec(), "b": make_job_spec(name="B")})
    plan = plan_for(desired, state)
    return dump_saved_plan(
        saved_plan(
            plan,
            state=state,
            state_existed=True,
            manifest_digest=MANIFESTS,
            vars_digest=VARIABLES,
            endpoint="https://api.bentley.com/contextcapture",
        )
    )


def _refusal(data: Any) -> PlanError:
    with pytest.raises(PlanError) as caught:
        parse_saved_plan(json.dumps(data, indent=2), source="plan.json")
    return caught.value


def _job_action(data: dict[str, Any], address: str) -> dict[str, Any]:
    (found,) = (a for a in data["plan"]["actions"] if a["address"] == address)
    assert isinstance(found, dict)
    return found


def test_a_written_plan_file_carries_the_seal_of_its_content() -> None:
    data = json.loads(_plan_text())
    assert data["formatVersion"] == 2
    assert data["seal"].startswith("sha256:") and len(data["seal"]) == len("sha256:") + 64
    assert data["seal"] == plan_seal(data)
    assert parse_saved_plan(json.dumps(data)).plan.action_for("jobs.a") is not None


def test_reformatting_a_plan_file_keeps_its_seal() -> None:
    text = _plan_text()
    data = json.loads(text)
    compact = json.dumps(dict(reversed(list(data.items()))), separators=(",", ":"))
    assert parse_saved_plan(compact) == parse_saved_plan(text)


@pytest.mark.parametrize(
    ("field", "value"),
    [(("settings", "quality"), "Extra"), (("name",), "Renamed job"), (("workspaceId",), "ws-x")],
)
def test_a_plan_file_whose_request_body_was_edited_is_refused(
    field: tuple[str, ...], value: str
) -> None:
    data = json.loads(_plan_text(make_state(main_workspace_record())))
    target = _job_action(data, "jobs.a")["request"]
    for key in field[:-1]:
        target = target[key]
    assert target[field[-1]] != value
    target[field[-1]] = value
    error = _refusal(data)
    assert error.message == CHANGED
    assert error.hint == (
        "run 'rmapply plan --out FILE' again and review the new plan; a plan file is applied"
        " only exactly as 'rmapply plan' wrote it"
    )


def test_a_plan_file_whose_action_kind_was_edited_is_refused() -> None:
    data = json.loads(_plan_text())
    _job_action(data, "jobs.a")["action"] = "replace"
    assert _refusal(data).message == CHANGED


def test_a_plan_file_with_an_added_action_is_refused() -> None:
    data = json.loads(_plan_text())
    copied = json.loads(json.dumps(_job_action(data, "jobs.a")))
    copied["address"] = "jobs.extra"
    data["plan"]["actions"].append(copied)
    assert _refusal(data).message == CHANGED


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(serial=d["serial"] + 1),
        lambda d: d.update(endpoint="https://other.example.com/contextcapture"),
        lambda d: d.update(manifest_digest="sha256:" + "9" * 64),
        lambda d: _job_action(d, "jobs.a")["precondition"].update(in_state=True),
        lambda d: d["plan"]["actions"].pop(),
    ],
    ids=["serial", "endpoint", "manifests", "precondition", "removed action"],
)
def test_a_plan_file_whose_facts_were_edited_is_refused(edit: Any) -> None:
    data = json.loads(_plan_text())
    edit(data)
    assert _refusal(data).message == CHANGED


def test_a_plan_file_without_its_seal_is_refused() -> None:
    data = json.loads(_plan_text())
    del data["seal"]
    error = _refusal(data)
    assert error.message == (
        "plan file plan.json has no seal (written by an older rmapply, or the seal was removed),"
        " so it cannot be checked for changes"
    )
    assert error.hint == "run 'rmapply plan --out FILE' again and review the new plan"


def _resealed(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a seal recomputed by hand (which is no longer an accident)."""
    return {**data, "seal": plan_seal(data)}


def test_a_resealed_plan_whose_submit_body_is_not_a_submit_is_refused() -> None:
    data = json.loads(_plan_text())
    _job_action(data, "jobs.a")["submitRequest"] = {"state": "Cancelled"}
    error = _refusal(_resealed(data))
    assert error.message.startswith("plan.json: damaged plan file: plan.actions.1.job.create: ")
    assert "submit_request must be {'state': 'Active'}, not {'state': 'Cancelled'}" in (
        error.message
    )


def test_a_resealed_plan_with_a_placeholder_but_no_address_to_fill_it_is_refused() -> None:
    data = json.loads(_plan_text())  # no workspace in state: its id is known after apply
    action = _job_action(data, "jobs.a")
    assert action["request"]["workspaceId"] == "(known after apply)"
    action["workspaceRef"] = None
    error = _refusal(_resealed(data))
    assert "workspaceId is '(known after apply)' but the plan fills it with no address" in (
        error.message
    )


PIPELINE = {
    "calib": make_job_spec(name="Calib", settings={"quality": "Medium", "outputs": ["OBJ"]}),
    "recon": make_job_spec(name="Recon", inputs=[{"id": "jobs.calib.outputs.OBJ"}]),
}
PLACEHOLDER = "(known after apply) from jobs.calib.outputs.OBJ"


def test_an_output_reference_known_after_apply_is_sealed_with_the_address_that_fills_it() -> None:
    data = json.loads(_plan_text(**PIPELINE))
    action = _job_action(data, "jobs.recon")
    assert action["request"]["inputs"] == [{"id": PLACEHOLDER}]
    assert action["inputRefs"] == [{"address": "jobs.calib", "format": "OBJ", "index": 0}]
    action["inputRefs"][0]["address"] = "jobs.other"
    assert _refusal(data).message == CHANGED


def test_a_resealed_plan_filling_an_input_from_another_output_is_refused() -> None:
    data = json.loads(_plan_text(**PIPELINE))
    _job_action(data, "jobs.recon")["inputRefs"][0]["format"] = "3MX"
    error = _refusal(_resealed(data))
    assert (
        f"inputs[0].id is '{PLACEHOLDER}' but the plan fills it with the output 3MX of jobs.calib"
    ) in error.message


def test_a_resealed_plan_with_an_input_placeholder_nothing_fills_is_refused() -> None:
    data = json.loads(_plan_text(**PIPELINE))
    _job_action(data, "jobs.recon")["inputRefs"] = []
    error = _refusal(_resealed(data))
    assert f"inputs[0].id is '{PLACEHOLDER}' but nothing fills it" in error.message


# -- every single-field change is detected ------------------------------------------------


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """The path of every value inside ``value`` (containers and leaves), the root excluded."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, inner in items:
        yield (*prefix, key)
        yield from _paths(inner, (*prefix, key))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.data())
def test_any_single_field_change_of_a_plan_file_is_refused(
    scenario: tuple[Any, StateDocument, RemoteView | None], data: st.DataObject
) -> None:
    desired, state, remote = scenario
    plan = plan_for(desired, state, remote)
    saved = saved_plan(
        plan,
        state=state,
        state_existed=True,
        manifest_digest=MANIFESTS,
        vars_digest=VARIABLES,
        endpoint="https://api.bentley.com/contextcapture",
    )
    content = json.loads(dump_saved_plan(saved))
    paths = [p for p in _paths(content) if p[0] != "seal"]
    path = data.draw(st.sampled_from(paths), label="path")
    parent: Any = content
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    how = data.draw(st.sampled_from(["replace", "remove", "add beside"]), label="how")
    if how == "replace":
        new = data.draw(JSON_SCALARS.filter(lambda v: _canonical(v) != _canonical(parent[last])))
        parent[last] = new
    elif how == "remove":
        del parent[last]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in parent))] = 1
    else:
        parent.insert(int(last), data.draw(JSON_SCALARS))
    with pytest.raises(PlanError) as caught:
        parse_saved_plan(json.dumps(content), source="plan.json")
    if path[0] not in ("format", "formatVersion"):  # those are refused before the seal
        assert caught.value.message == CHANGED
