"""The JSON Schemas of docs/schemas/, and a check that real output validates against one."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


@cache
def schema(name: str) -> dict[str, Any]:
    """docs/schemas/<name>.schema.json, parsed."""
    data: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    return data


def assert_valid(name: str, data: Any) -> None:
    """``data`` validates against docs/schemas/<name>.schema.json (every error listed)."""
    validator = jsonschema.Draft202012Validator(schema(name))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:10]
    )
