"""The desired state written back as a manifest document (``rmapply render``)."""

from __future__ import annotations

import json
from typing import Any

import tomli_w
import yaml

from rmapply.model import DesiredState

FORMATS = ("toml", "yaml", "json")


def to_document(desired: DesiredState) -> dict[str, Any]:
    """``{"workspaces": {KEY: {...}}, "jobs": {KEY: {...}}}``: itself a valid manifest."""
    return {
        "workspaces": {a.key: w.spec.to_wire() for a, w in sorted(desired.workspaces.items())},
        "jobs": {a.key: j.spec.to_wire() for a, j in sorted(desired.jobs.items())},
    }


def dump(document: dict[str, Any], fmt: str) -> str:
    """The document as TOML, YAML or JSON text."""
    if fmt == "toml":
        return str(tomli_w.dumps(document))
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
