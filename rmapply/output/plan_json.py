"""A Plan as JSON: camelCase keys, ``formatVersion``, the schema docs/schemas/plan.schema.json."""

from __future__ import annotations

import json
from typing import Any

from rmapply.plan import Plan
from rmapply.plan.result import PLAN_FORMAT_VERSION


def plan_data(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data in the API's dialect (camelCase keys, ``formatVersion``)."""
    data: dict[str, Any] = plan.model_dump(mode="json", by_alias=True)
    return data


def render_plan_json(plan: Plan) -> str:
    """The plan as JSON text: sorted keys, two-space indent, stable for the same input."""
    return json.dumps(plan_data(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of render_plan_json's output, generated from the plan's models."""
    schema: dict[str, Any] = Plan.model_json_schema(mode="serialization", by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://rmapply.dev/schemas/plan-v{PLAN_FORMAT_VERSION}.json"
    return schema
