"""The official examples parse into the wire models and serialise back unchanged."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from rmapply import wire
from tests.reference import reference_dir


def _page_examples() -> list[dict[str, object]]:
    text = (reference_dir() / "create-job-api.txt").read_text(encoding="utf-8")
    return [
        json.loads(m)
        for m in re.findall(r"^(\{ .*\})$", text, flags=re.M)
        if '"job"' in m or '"type": "Full"' in m
    ]


def test_create_job_page_example_round_trips() -> None:
    request, response = _page_examples()[:2]
    assert wire.JobCreation.from_wire(request).to_wire() == request
    job = wire.JobResponse.from_wire(response)
    assert job.job.state is wire.JobState.UNSUBMITTED
    assert job.job.output_ids() == {
        "OBJ": "3ddee08c-01e8-44a5-8e56-3879109f6728",
        "3MX": "f18fc6c3-2224-4d63-a04b-52bd18805d01",
    }
    assert job.to_wire() == response


def test_patch_state_is_case_insensitive() -> None:
    assert wire.JobPatch.from_wire({"state": "active"}).state is wire.PatchState.ACTIVE
    assert wire.JobPatch.from_wire({"state": "CANCELLED"}).state is wire.PatchState.CANCELLED


def test_answer_with_unknown_fields_is_parsed_without_them() -> None:
    body = {"enginesLimit": {"maxEngines": 3, "newField": 1}, "other": True}
    assert wire.EnginesLimitResponse.from_answer(body).to_wire() == {
        "enginesLimit": {"maxEngines": 3}
    }


@given(
    st.sampled_from(list(wire.JobType)),
    st.text(min_size=1, max_size=30),
    st.lists(st.sampled_from(list(wire.OutputFormat)), min_size=1, max_size=5, unique=True),
    st.sampled_from(list(wire.Quality)),
    st.integers(min_value=0, max_value=100),
)
def test_job_creation_round_trips(
    job_type: wire.JobType,
    name: str,
    outputs: list[wire.OutputFormat],
    quality: wire.Quality,
    engines: int,
) -> None:
    body = wire.JobCreation(
        type=job_type,
        name=name,
        workspace_id="w",
        inputs=[wire.JobInput(id="i")],
        settings=wire.JobCreateSettings(
            quality=quality, outputs=outputs, processing_engines=engines
        ),
    )
    assert wire.JobCreation.from_wire(json.loads(json.dumps(body.to_wire()))) == body
