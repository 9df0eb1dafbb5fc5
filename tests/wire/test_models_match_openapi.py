"""The wire models are checked against the official OpenAPI file itself, so drift is caught."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel

from rmapply import wire
from tests.reference import openapi

MODELS: dict[str, type[BaseModel]] = {
    "costEstimationParameters": wire.CostEstimationParameters,
    "enginesLimit": wire.EnginesLimit,
    "enginesLimit-response": wire.EnginesLimitResponse,
    "workspaceCreation": wire.WorkspaceCreation,
    "workspace": wire.Workspace,
    "workspace-response": wire.WorkspaceResponse,
    "jobInput": wire.JobInput,
    "cacheSettings": wire.CacheSettings,
    "jobPatchSettings": wire.JobPatchSettings,
    "jobCreateSettings": wire.JobCreateSettings,
    "jobCreation": wire.JobCreation,
    "ErrorWarningMessages": wire.ErrorWarningMessage,
    "execInfo": wire.ExecutionInformation,
    "jobOutput": wire.JobOutput,
    "jobSettings": wire.JobSettings,
    "job": wire.Job,
    "job-response": wire.JobResponse,
    "jobProgress": wire.JobProgress,
    "jobProgress-response": wire.JobProgressResponse,
    "jobPatch": wire.JobPatch,
    "jobs-response": wire.JobsResponse,
    "next-page-link": wire.NextPageLink,
    "link": wire.Link,
    "DetailedError": wire.DetailedError,
    "DetailedErrorResponse": wire.DetailedErrorResponse,
    "Error": wire.ErrorDetail,
    "ErrorResponse": wire.ErrorResponse,
}

# Deliberate, documented deviations from the spec (docs/emulator.md).
EXTRA_FIELDS: dict[str, set[str]] = {"workspaceCreation": {"contextCaptureVersion"}}

ENUMS: dict[str, type[StrEnum]] = {
    "format": wire.OutputFormat,
    "quality": wire.Quality,
}


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = openapi()["components"]["schemas"]
    return schemas


def _aliases(model: type[BaseModel]) -> dict[str, str]:
    return {(f.alias or name): name for name, f in model.model_fields.items()}


def test_every_object_schema_of_the_spec_has_a_model() -> None:
    objects = {k for k, v in _schemas().items() if v.get("type") == "object"}
    assert objects - set(MODELS) == set()


@pytest.mark.parametrize("schema_name", sorted(MODELS))
def test_model_fields_match_schema_properties(schema_name: str) -> None:
    schema = _schemas()[schema_name]
    model = MODELS[schema_name]
    expected = set(schema.get("properties", {})) | EXTRA_FIELDS.get(schema_name, set())
    assert set(_aliases(model)) == expected


@pytest.mark.parametrize("schema_name", sorted(MODELS))
def test_model_required_fields_match_schema(schema_name: str) -> None:
    schema = _schemas()[schema_name]
    model = MODELS[schema_name]
    required = {
        alias for alias, name in _aliases(model).items() if model.model_fields[name].is_required()
    }
    assert required == set(schema.get("required", []))


@pytest.mark.parametrize("schema_name", sorted(MODELS))
def test_model_forbids_extra_fields_exactly_where_the_spec_does(schema_name: str) -> None:
    schema = _schemas()[schema_name]
    forbids = schema.get("additionalProperties") is False
    assert (MODELS[schema_name].model_config.get("extra") == "forbid") == forbids


def _enum_of(prop: dict[str, Any]) -> list[str] | None:
    if "enum" in prop:
        return list(prop["enum"])
    ref = prop.get("$ref")
    if ref:
        target = _schemas()[ref.rsplit("/", 1)[1]]
        return list(target["enum"]) if "enum" in target else None
    return None


@pytest.mark.parametrize("schema_name", sorted(ENUMS))
def test_enum_values_match_spec_in_order(schema_name: str) -> None:
    assert [m.value for m in ENUMS[schema_name]] == _schemas()[schema_name]["enum"]


def test_job_state_location_progress_and_patch_enums_match_spec() -> None:
    job = _schemas()["job"]["properties"]
    assert [m.value for m in wire.JobState] == job["state"]["enum"]
    assert [m.value for m in wire.Location] == job["location"]["enum"]
    assert [m.value for m in wire.JobType] == job["type"]["enum"]
    assert [m.value for m in wire.ProgressState] == _schemas()["jobProgress"]["properties"][
        "state"
    ]["enum"]
    assert [m.value for m in wire.PatchState] == _schemas()["jobPatch"]["properties"]["state"][
        "enum"
    ]


def test_spec_has_18_formats_and_9_locations() -> None:
    assert len(wire.OutputFormat) == 18 and "GaussianSplats" in set(wire.OutputFormat)
    assert len(wire.Location) == 9 and "West Europe" in set(wire.Location)


@pytest.mark.parametrize("schema_name", sorted(MODELS))
def test_every_enum_property_uses_the_spec_values(schema_name: str) -> None:
    model = MODELS[schema_name]
    aliases = _aliases(model)
    for prop_name, prop in _schemas()[schema_name].get("properties", {}).items():
        values = _enum_of(prop) or (_enum_of(prop["items"]) if "items" in prop else None)
        if values is None:
            continue
        field = model.model_fields[aliases[prop_name]]
        text = repr(field.annotation)
        enum_type = next(e for e in ENUM_TYPES if e.__name__ in text)
        assert [m.value for m in enum_type] == values, (schema_name, prop_name)


ENUM_TYPES: list[type[StrEnum]] = [
    wire.OutputFormat,
    wire.Quality,
    wire.JobType,
    wire.JobState,
    wire.PatchState,
    wire.ProgressState,
    wire.Location,
]
