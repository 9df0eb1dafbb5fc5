"""Field-level differences, and the order actions are applied in."""

from __future__ import annotations

import pytest

from rmapply.errors import PlanError
from rmapply.model import FieldClass
from rmapply.plan.diff import describe_diff, spec_diff
from tests.factories import (
    main_workspace_record,
    make_desired,
    make_job_spec,
    make_record,
    make_state,
    make_workspace_spec,
)
from tests.plan.planning import plan_for


def test_spec_diff_describes_changed_added_and_removed_fields() -> None:
    before = make_job_spec().to_wire()
    after = make_job_spec(
        name="Site B",
        settings={"quality": "Extra", "outputs": ["OBJ", "3MX"], "processingEngines": 4},
        inputs=[{"id": "photos-a"}],
    ).to_wire()
    lines = [describe_diff(c) for c in spec_diff(before, after)]
    assert lines == [
        'inputs[0].description: "drone photos" -> (absent)',
        'name: "Site A" -> "Site B"',
        'settings.outputs: ["OBJ"] -> ["OBJ", "3MX"]',
        "settings.processingEngines: (absent) -> 4",
        'settings.quality: "Medium" -> "Extra"',
    ]
    classes = {c.path: c.field_class for c in spec_diff(before, after)}
    assert classes["name"] is FieldClass.COSMETIC
    assert classes["settings.outputs"] is FieldClass.RERUN


def test_spec_diff_sees_no_change_between_an_int_and_the_same_float() -> None:
    assert (
        spec_diff(
            {"costEstimationParameters": {"gigaPixels": 2}},
            {"costEstimationParameters": {"gigaPixels": 2.0}},
        )
        == ()
    )


def test_creations_come_before_removals_and_jobs_before_their_workspace_removal() -> None:
    desired = make_desired(
        {
            "b": make_job_spec(workspace="new"),
            "a": make_job_spec(workspace="new", dependsOn=["jobs.b"]),
        },
        {"new": make_workspace_spec(name="New")},
    )
    state = make_state(main_workspace_record(), make_record("jobs.old", "job-o", make_job_spec()))
    order = [(str(a.address), a.action.value) for a in plan_for(desired, state).actions]
    assert order == [
        ("workspaces.new", "create"),
        ("jobs.b", "create"),
        ("jobs.a", "create"),
        ("jobs.old", "delete"),
        ("workspaces.main", "delete"),
    ]


def test_dependency_cycle_is_an_error_naming_its_members() -> None:
    desired = make_desired(
        {
            "a": make_job_spec(dependsOn=["jobs.b"]),
            "b": make_job_spec(dependsOn=["jobs.a"]),
            "c": make_job_spec(),
        }
    )
    with pytest.raises(PlanError) as caught:
        plan_for(desired)
    assert caught.value.message == "dependency cycle among jobs.a, jobs.b"
    assert caught.value.hint == "remove one of the dependsOn entries that close the cycle"
