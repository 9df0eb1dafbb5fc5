"""A Plan as JSON: the versioned, documented schema of docs/plan.md (plan.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rmapply.plan import Plan

SCHEMA_PATH = Path(__file__).with_name("plan.schema.json")


def plan_data(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data (``format_version`` first among equals)."""
    data: dict[str, Any] = plan.model_dump(mode="json")
    return data


def render_plan_json(plan: Plan) -> str:
    """The plan as JSON text: sorted keys, two-space indent, stable for the same input."""
    return json.dumps(plan_data(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of render_plan_json's output, generated from the plan's models."""
    schema: dict[str, Any] = Plan.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://rmapply.dev/schemas/plan-v1.json"
    return schema
