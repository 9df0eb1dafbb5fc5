"""The official examples parse into the wire models and serialise back unchanged."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rmapply import wire
from tests.reference import openapi, reference_dir


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


def _spec_examples() -> list[tuple[str, str, object]]:
    """(operation, where, example) for every request and response example of the OpenAPI file."""
    found: list[tuple[str, str, object]] = []
    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            name = f"{method.upper()} {path}"
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            for example in _examples_of(content):
                found.append((name, "request", example))
            for status, answer in operation.get("responses", {}).items():
                for example in _examples_of(answer.get("content", {}).get("application/json")):
                    found.append((name, status, example))
    return found


def _examples_of(content: dict[str, Any] | None) -> list[object]:
    if not content:
        return []
    if "example" in content:
        return [content["example"]]
    return [e["value"] for e in content.get("examples", {}).values()]


def _model_for(operation: str, where: str) -> type[wire.WireModel]:
    if where == "request":
        return {
            "POST /jobs": wire.JobCreation,
            "PATCH /jobs/{id}": wire.JobPatch,
            "POST /workspaces": wire.WorkspaceCreation,
        }[operation]
    if where.startswith("4") or where.startswith("5"):
        return wire.DetailedErrorResponse if where == "422" else wire.ErrorResponse
    return {
        "/jobs/{id}/progress": wire.JobProgressResponse,
        "/jobs/{id}": wire.JobResponse,
        "/jobs": wire.JobsResponse if operation.startswith("GET") else wire.JobResponse,
        "/workspaces/{id}": wire.WorkspaceResponse,
        "/workspaces": wire.WorkspaceResponse,
        "/limits/engines": wire.EnginesLimitResponse,
    }[operation.split(" ", 1)[1]]


@pytest.mark.parametrize(
    ("operation", "where", "example"),
    _spec_examples(),
    ids=[f"{o} {w}" for o, w, _ in _spec_examples()],
)
def test_every_example_of_the_openapi_file_parses_strictly_and_round_trips(
    operation: str, where: str, example: object
) -> None:
    model = _model_for(operation, where)
    parsed = model.from_wire(example)
    written = json.loads(json.dumps(parsed.to_wire()))
    assert model.from_wire(written) == parsed
    assert _shape(written) == _shape(example)  # same keys everywhere; date-times may be respelled


def _shape(value: object) -> object:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__ if not isinstance(value, int | float) else "number"


def test_the_spec_has_examples_for_every_operation() -> None:
    operations = {o for o, _, _ in _spec_examples()}
    assert len(operations) == 10


@pytest.mark.parametrize(
    "stamp",
    [
        "2020-09-14T14:29:55Z",  # the developer portal's form
        "2020-09-14T14:29:55.0000000+00:00",  # the OpenAPI examples' .NET round-trip form
        "2020-09-14T16:29:55.0000000+02:00",
        "2021-05-18T09:39:23.436Z",
    ],
)
def test_answers_with_either_documented_date_time_form_parse_to_the_same_instant(
    stamp: str,
) -> None:
    workspace = wire.Workspace.from_answer({"id": "w", "name": "n", "createdDateTime": stamp})
    assert workspace.created_date_time.tzinfo is not None
    expected = datetime(2020, 9, 14, 14, 29, 55, tzinfo=UTC)
    if stamp.startswith("2021"):
        expected = datetime(2021, 5, 18, 9, 39, 23, 436000, tzinfo=UTC)
    assert workspace.created_date_time == expected


def test_a_job_answer_with_unknown_fields_at_every_level_is_parsed_without_them() -> None:
    _, response = _page_examples()[:2]
    job = dict(response["job"])  # type: ignore[arg-type]
    job["dataCenter"] = "East US"
    job["jobSettings"] = {**job["jobSettings"], "newSetting": 1}
    job["jobSettings"]["outputs"] = [
        {**o, "location": "blob"} for o in job["jobSettings"]["outputs"]
    ]
    job["inputs"] = [{**i, "type": "CCImageCollection"} for i in job["inputs"]]
    page = {"jobs": [job], "_links": {"next": {"href": "https://x/jobs?t=1", "rel": "n"}}, "n": 1}
    parsed = wire.JobsResponse.from_answer(page)
    assert parsed.jobs is not None
    assert parsed.jobs[0].to_wire() == response["job"]
    assert parsed.links is not None and parsed.links.next is not None
    assert parsed.links.next.href == "https://x/jobs?t=1"


NULLABLE = [
    (wire.ExecutionInformation, "startedDateTime", {"submittedDateTime": "2020-09-14T14:29:55Z"}),
    (wire.ExecutionInformation, "endedDateTime", {"submittedDateTime": "2020-09-14T14:29:55Z"}),
    (wire.ExecutionInformation, "estimatedUnits", {"submittedDateTime": "2020-09-14T14:29:55Z"}),
    (wire.ExecutionInformation, "errors", {"submittedDateTime": "2020-09-14T14:29:55Z"}),
    (wire.ExecutionInformation, "warnings", {"submittedDateTime": "2020-09-14T14:29:55Z"}),
    (wire.JobOutput, "id", {"format": "OBJ"}),
    (wire.ErrorDetail, "target", {"code": "c", "message": "m"}),
]


def test_the_nullable_list_matches_the_spec() -> None:
    spec = {
        (name, prop)
        for name, schema in openapi()["components"]["schemas"].items()
        for prop, value in schema.get("properties", {}).items()
        if value.get("nullable")
    }
    names = {
        wire.ExecutionInformation: "execInfo",
        wire.JobOutput: "jobOutput",
        wire.ErrorDetail: "Error",
    }
    ours = {(names[model], prop) for model, prop, _ in NULLABLE}
    assert ours == spec - {("DetailedError", "target")}  # DetailedError inherits Error's field


@pytest.mark.parametrize(("model", "prop", "base"), NULLABLE)
def test_every_nullable_property_of_the_spec_accepts_null(
    model: type[wire.WireModel], prop: str, base: dict[str, object]
) -> None:
    assert model.from_wire({**base, prop: None}) == model.from_wire(base)


def test_a_bad_answer_is_reported_without_the_noise_of_its_unknown_fields() -> None:
    _, response = _page_examples()[:2]
    job = {**response["job"], "dataCenter": "x", "location": "Brazil South"}  # type: ignore[dict-item]
    with pytest.raises(ValidationError) as caught:
        wire.JobResponse.from_answer({"job": job})
    assert [(e["type"], e["loc"]) for e in caught.value.errors()] == [("enum", ("job", "location"))]
