"""JSON Schema of a manifest document, for editors that validate while typing."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from rmapply.model import JobSpec, WorkspaceSpec
from rmapply.model.address import KEY_PATTERN

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def manifest_schema() -> dict[str, Any]:
    """The schema of one manifest document (a TOML file or one YAML document), by alias."""
    _, definitions = models_json_schema(
        [(WorkspaceSpec, "validation"), (JobSpec, "validation")],
        ref_template="#/$defs/{model}",
        by_alias=True,
    )
    defs: dict[str, Any] = definitions.get("$defs", {})
    job = defs["JobSpec"]
    job["description"] = (
        "A Reality Modeling job: the API's Job Creation fields plus rmapply's reconciler fields. "
        "Set exactly one of 'workspace' (a key in the manifests) and 'workspaceId'."
    )
    job["oneOf"] = [{"required": ["workspace"]}, {"required": ["workspaceId"]}]
    defs["JobSpec"]["properties"]["dependsOn"]["items"]["pattern"] = (
        r"^(jobs|workspaces)\.[a-z0-9][a-z0-9_-]*$"
    )

    def table(definition: str, what: str) -> dict[str, Any]:
        return {
            "type": "object",
            "description": f"{what} by key; the key is the resource's stable address",
            "propertyNames": {"pattern": KEY_PATTERN.pattern},
            "additionalProperties": {"$ref": f"#/$defs/{definition}"},
        }

    return {
        "$schema": SCHEMA_DIALECT,
        "title": "rmapply manifest",
        "description": "Desired Reality Modeling workspaces and jobs (see docs/manifests.md).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "workspaces": table("WorkspaceSpec", "Workspaces"),
            "jobs": table("JobSpec", "Jobs"),
        },
        "$defs": defs,
    }
